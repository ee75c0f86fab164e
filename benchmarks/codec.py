"""Codec speed: netsim.wire vs dpkt vs scapy, measured in the same run.

Frames: Ethernet/IPv4/TCP (PSH,ACK with NOP,NOP,Timestamp and 100 bytes of data) and
Ethernet/IPv4/UDP/TFTP DATA (512 bytes). "Decode" parses every layer to field values
(dpkt: ``dpkt.ethernet.Ethernet(buf)``, which parses down to TCP/UDP, plus ``dpkt.tftp.TFTP``
for the TFTP frame; scapy: ``Ether(buf)``, plus ``TFTP(...)``). netsim verifies checksums
lazily (on first access of ``checksum_ok``), so a second "decode+verify" row also reads every
layer's ``checksum_ok``. "Encode" builds the frame from field values, computing lengths and
checksums. Last, writing N frames to pcapng: netsim.capture.PcapngWriter vs scapy's wrpcap.

Run: ``python benchmarks/codec.py [--seconds 1.0]``; ``--quick`` (0.2 s a cell) for a rough look.
On a shared machine compare the "x dpkt" columns of two runs: dpkt runs interleaved with
netsim, so load from elsewhere slows both alike.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from netsim.wire import ETH_IPV4, TCP, UDP, Ethernet, IPv4, decode_frame  # noqa: E402
from netsim.wire import tcp as wtcp  # noqa: E402

SRC_MAC, DST_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
SRC_IP, DST_IP = "10.0.0.1", "10.0.0.2"
TCP_DATA = bytes(range(100))
TFTP_BLOCK = bytes(i & 0xFF for i in range(512))
TFTP_PORT = 49999
TS_OPTS = (("NOP", None), ("NOP", None), ("Timestamp", (123456, 654321)))


ROUNDS = 5


def _calibrate(fn, seconds: float) -> int:
    """Calls of ``fn`` that take about ``seconds / ROUNDS``."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt > 0.05:
            break
        n *= 2
    return max(1, int(n * seconds / ROUNDS / dt))


def rates(fns, seconds: float) -> list[float]:
    """Calls per second of each of ``fns``, best of ROUNDS rounds of about ``seconds / ROUNDS``.

    The functions take turns within each round (ours, dpkt, scapy, ours, ...), so a burst of
    load from elsewhere on a shared machine hits all of them alike instead of one column."""
    counts = [_calibrate(fn, seconds) for fn in fns]
    best = [0.0] * len(fns)
    for _ in range(ROUNDS):
        for i, (fn, n) in enumerate(zip(fns, counts)):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            best[i] = max(best[i], n / (time.perf_counter() - t0))
    return best


def rate(fn, seconds: float) -> float:
    """Calls of ``fn`` per second over about ``seconds`` (best of ROUNDS runs)."""
    return rates([fn], seconds)[0]


# -- netsim --------------------------------------------------------------------------------

def ours_tcp_encode() -> bytes:
    seg = TCP(49152, 80, seq=1000, ack=2000, flags=wtcp.PSH | wtcp.ACK, window=502,
              payload=TCP_DATA, options=TS_OPTS).encode(SRC_IP, DST_IP)
    return Ethernet(DST_MAC, SRC_MAC, ETH_IPV4,
                    IPv4(SRC_IP, DST_IP, 6, seg, ident=1, df=True).encode()).encode()


def ours_tftp_encode() -> bytes:
    from netsim.wire import tftp
    body = tftp.Data(1, TFTP_BLOCK).encode()
    dgram = UDP(TFTP_PORT, 50000, body).encode(SRC_IP, DST_IP)
    return Ethernet(DST_MAC, SRC_MAC, ETH_IPV4,
                    IPv4(SRC_IP, DST_IP, 17, dgram, ident=1).encode()).encode()


def ours_decode_verify(buf: bytes, ports: tuple[int, ...]) -> None:
    f = decode_frame(buf, ports)
    for layer in (f.ip, f.tcp, f.udp):
        if layer is not None and not layer.checksum_ok:
            raise AssertionError("bad checksum")


# -- dpkt ----------------------------------------------------------------------------------

def dpkt_funcs():
    import dpkt

    smac, dmac = bytes.fromhex(SRC_MAC.replace(":", "")), bytes.fromhex(DST_MAC.replace(":", ""))
    sip, dip = socket.inet_aton(SRC_IP), socket.inet_aton(DST_IP)
    ts = b"\x01\x01\x08\x0a" + (123456).to_bytes(4, "big") + (654321).to_bytes(4, "big")

    def tcp_encode() -> bytes:
        seg = dpkt.tcp.TCP(sport=49152, dport=80, seq=1000, ack=2000,
                           flags=dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, win=502, opts=ts,
                           off=8, data=TCP_DATA)
        ip = dpkt.ip.IP(src=sip, dst=dip, p=6, id=1, df=1, data=seg)
        return bytes(dpkt.ethernet.Ethernet(src=smac, dst=dmac, type=0x0800, data=ip))

    def tftp_encode() -> bytes:
        body = bytes(dpkt.tftp.TFTP(opcode=3, block=1, data=TFTP_BLOCK))
        udp = dpkt.udp.UDP(sport=TFTP_PORT, dport=50000, data=body)
        udp.ulen = 8 + len(body)
        ip = dpkt.ip.IP(src=sip, dst=dip, p=17, id=1, data=udp)
        return bytes(dpkt.ethernet.Ethernet(src=smac, dst=dmac, type=0x0800, data=ip))

    def tcp_decode(buf: bytes) -> None:
        dpkt.ethernet.Ethernet(buf)

    def tftp_decode(buf: bytes) -> None:
        e = dpkt.ethernet.Ethernet(buf)
        dpkt.tftp.TFTP(e.data.data.data)

    return tcp_encode, tftp_encode, tcp_decode, tftp_decode


# -- scapy ---------------------------------------------------------------------------------

def scapy_funcs():
    from scapy.layers.inet import IP
    from scapy.layers.inet import TCP as STCP
    from scapy.layers.inet import UDP as SUDP
    from scapy.layers.l2 import Ether
    from scapy.layers.tftp import TFTP, TFTP_DATA
    from scapy.packet import Raw

    def tcp_encode() -> bytes:
        return bytes(Ether(dst=DST_MAC, src=SRC_MAC) / IP(src=SRC_IP, dst=DST_IP, id=1, flags="DF")
                     / STCP(sport=49152, dport=80, seq=1000, ack=2000, flags="PA", window=502,
                            options=[("NOP", None), ("NOP", None), ("Timestamp", (123456, 654321))])
                     / Raw(TCP_DATA))

    def tftp_encode() -> bytes:
        return bytes(Ether(dst=DST_MAC, src=SRC_MAC) / IP(src=SRC_IP, dst=DST_IP, id=1)
                     / SUDP(sport=TFTP_PORT, dport=50000) / TFTP(op=3) / TFTP_DATA(block=1)
                     / Raw(TFTP_BLOCK))

    def tcp_decode(buf: bytes) -> None:
        Ether(buf)

    def tftp_decode(buf: bytes) -> None:
        p = Ether(buf)
        TFTP(bytes(p[SUDP].payload))

    return tcp_encode, tftp_encode, tcp_decode, tftp_decode


# -- pcapng --------------------------------------------------------------------------------

def pcapng_rates(frames: list[bytes], seconds: float) -> tuple[float | None, float]:
    from scapy.utils import wrpcap

    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "bench.pcapng")

    def write_scapy() -> None:
        wrpcap(path, frames, linktype=1)  # raw Ethernet frames, as given

    try:
        from netsim.capture import PcapngWriter
    except ImportError:
        print("netsim.capture.PcapngWriter is missing: pcapng row skipped")
        return None, rate(write_scapy, seconds) * len(frames)

    def write_ours() -> None:
        with PcapngWriter(path) as w:
            if_id = w.add_interface("h1-eth0")
            for i, f in enumerate(frames):
                w.write(if_id, i * 1000, f)
    ours, theirs = rates([write_ours, write_scapy], seconds)
    ours, theirs = ours * len(frames), theirs * len(frames)
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--quick", action="store_true", help="0.2 s per measurement")
    args = parser.parse_args()
    sec = 0.2 if args.quick else args.seconds

    tcp_frame, tftp_frame = ours_tcp_encode(), ours_tftp_encode()
    d_tcp_enc, d_tftp_enc, d_tcp_dec, d_tftp_dec = dpkt_funcs()
    s_tcp_enc, s_tftp_enc, s_tcp_dec, s_tftp_dec = scapy_funcs()
    # the three libraries must build the same bytes, or the comparison is meaningless
    for name, other in (("dpkt tcp", d_tcp_enc()), ("scapy tcp", s_tcp_enc())):
        assert other == tcp_frame, f"{name} frame differs:\n{other.hex()}\n{tcp_frame.hex()}"
    for name, other in (("dpkt tftp", d_tftp_enc()), ("scapy tftp", s_tftp_enc())):
        assert other == tftp_frame, f"{name} frame differs:\n{other.hex()}\n{tftp_frame.hex()}"
    ports = (TFTP_PORT,)

    rows = [
        ("decode Eth/IPv4/TCP", lambda: decode_frame(tcp_frame),
         lambda: d_tcp_dec(tcp_frame), lambda: s_tcp_dec(tcp_frame)),
        ("decode+verify Eth/IPv4/TCP", lambda: ours_decode_verify(tcp_frame, ()),
         lambda: d_tcp_dec(tcp_frame), lambda: s_tcp_dec(tcp_frame)),
        ("decode Eth/IPv4/UDP/TFTP DATA", lambda: decode_frame(tftp_frame, ports),
         lambda: d_tftp_dec(tftp_frame), lambda: s_tftp_dec(tftp_frame)),
        ("decode+verify Eth/IPv4/UDP/TFTP", lambda: ours_decode_verify(tftp_frame, ports),
         lambda: d_tftp_dec(tftp_frame), lambda: s_tftp_dec(tftp_frame)),
        ("encode Eth/IPv4/TCP", ours_tcp_encode, d_tcp_enc, s_tcp_enc),
        ("encode Eth/IPv4/UDP/TFTP DATA", ours_tftp_encode, d_tftp_enc, s_tftp_enc),
    ]
    print(f"python {sys.version.split()[0]}; frames/s, best of {ROUNDS} interleaved rounds; "
          f"{sec:.1f} s per cell\n")
    head = f"{'operation':34s} {'netsim':>10s} {'dpkt':>10s} {'scapy':>10s} {'x dpkt':>7s} " \
           f"{'x scapy':>8s}"
    print(head)
    print("-" * len(head))
    for name, ours, dp, sc in rows:
        r_o, r_d, r_s = rates([ours, dp, sc], sec)
        print(f"{name:34s} {r_o:10.0f} {r_d:10.0f} {r_s:10.0f} {r_o / r_d:7.2f} {r_o / r_s:8.1f}")

    frames = [tcp_frame, tftp_frame] * 500
    ours_w, scapy_w = pcapng_rates(frames, sec)
    print()
    if ours_w is not None:
        print(f"{'write 1000 frames to pcapng':34s} {ours_w:10.0f} {'':>10s} {scapy_w:10.0f} "
              f"{'':>7s} {ours_w / scapy_w:8.1f}   (scapy: wrpcap, classic pcap)")
    else:
        print(f"{'scapy wrpcap':34s} {scapy_w:10.0f}")


if __name__ == "__main__":
    main()
