"""Make a test input with sound: the shared videos have none (their README: audio removed). Copies the video
packets of IN unchanged and adds a 440 Hz AAC tone as long as the video: python with_sound.py IN OUT."""
import sys

import av
import numpy as np

src, dst = sys.argv[1:3]
RATE = 48000
with av.open(src) as inp, av.open(dst, "w") as out:
    vin = inp.streams.video[0]
    vout = out.add_stream_from_template(vin)
    seconds = float(vin.duration * vin.time_base) if vin.duration else inp.duration / 1e6
    aout = out.add_stream("aac", rate=RATE)
    aout.layout = "mono"
    for packet in inp.demux(vin):
        if packet.dts is not None:
            packet.stream = vout
            out.mux(packet)
    samples = int(RATE * seconds)
    wave = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / RATE)).astype(np.float32)
    for start in range(0, samples, 1024):
        frame = av.AudioFrame.from_ndarray(wave[None, start:start + 1024], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = RATE, start
        for p in aout.encode(frame):
            out.mux(p)
    for p in aout.encode(None):
        out.mux(p)
print(f"{dst}: {src}'s video with {seconds:.1f} s of sound")
