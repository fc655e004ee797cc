"""A written video is what a player needs: python check_video.py OUT INPUT. H.264, every frame of the input,
decodable to the end, and the input's sound as long as the video."""
import sys

import av

out, src = sys.argv[1:3]


def probe(path):
    with av.open(path) as c:
        video = sum(1 for _ in c.decode(video=0))
        codec = c.streams.video[0].codec_context.name
    seconds = 0.0
    with av.open(path) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            seconds = sum(f.samples for f in c.decode(a)) / a.codec_context.sample_rate
    return codec, video, seconds


codec, frames, sound = probe(out)
_, want_frames, want_sound = probe(src)
print(f"{out}: {codec}, {frames} frames (input {want_frames}), sound {sound:.2f} s (input {want_sound:.2f} s)")
assert codec == "h264", codec
assert frames == want_frames, "frames lost"
assert want_sound > 0 and abs(sound - want_sound) < 0.1, "the sound was not kept"
