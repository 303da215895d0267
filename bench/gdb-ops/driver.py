# Runs inside gdb (gdb -batch -x driver.py): connects, prepares one workload,
# times it, and prints one RESULT line with the wall time and, for josgdb,
# the serial-link byte counters read from the counting proxy before and after.
# Parameters come from the environment so one script serves every workload.
import json
import os
import socket
import time

import gdb

TARGET = os.environ["GDBOPS_TARGET"]
WORKLOAD = os.environ["GDBOPS_WORKLOAD"]
CONTROL = os.environ.get("GDBOPS_CONTROL")
COUNTER_LINE = os.environ["GDBOPS_COUNTER_LINE"]
CALL_LINE = os.environ["GDBOPS_CALL_LINE"]
SPIN_LINE = os.environ["GDBOPS_SPIN_LINE"]
LOW_RAM = int(os.environ["GDBOPS_LOW_RAM"], 16)


def counters():
    if not CONTROL:
        return None
    s = socket.create_connection(("127.0.0.1", int(CONTROL)))
    s.sendall(b"counters\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)


def run(cmd):
    gdb.execute(cmd, to_string=True)


def stop_at(location, ignore=0):
    run("break " + location)
    if ignore:
        run("ignore $bpnum %d" % ignore)
    run("continue")
    run("delete")


def prepare_and_work():
    """(setup, work): setup runs untimed after connecting, work is timed."""
    if WORKLOAD == "connect":
        return None, lambda: run("target remote " + TARGET)
    if WORKLOAD == "stepi-500":
        return lambda: stop_at("demo_a"), lambda: [run("stepi") for _ in range(500)]
    if WORKLOAD == "next-1000":
        return lambda: stop_at("workload.c:" + SPIN_LINE), lambda: run("next")
    if WORKLOAD == "next-calls":
        return lambda: stop_at("workload.c:" + CALL_LINE), lambda: run("next")
    if WORKLOAD == "next-plain":
        return lambda: stop_at("workload.c:" + COUNTER_LINE), lambda: run("next")
    if WORKLOAD == "bt-6":
        return lambda: stop_at("demo_leaf"), lambda: run("bt")
    if WORKLOAD == "bt-22":
        return lambda: stop_at("*demo_factorial", 19), lambda: run("bt")
    if WORKLOAD == "finish-deep":
        return lambda: stop_at("*demo_factorial", 19), lambda: run("finish")
    if WORKLOAD == "hits-100":
        return lambda: run("break demo_leaf"), lambda: [run("continue") for _ in range(100)]
    if WORKLOAD == "dump-64k":
        return None, lambda: run("dump binary memory /dev/null 0x%x 0x%x" % (LOW_RAM, LOW_RAM + 0x10000))
    if WORKLOAD == "dump-64k-throttled":
        return None, lambda: run("dump binary memory /dev/null 0x%x 0x%x" % (LOW_RAM, LOW_RAM + 0x10000))
    if WORKLOAD == "dump-1m":
        return None, lambda: run("dump binary memory /dev/null 0x%x 0x%x" % (LOW_RAM, LOW_RAM + 0x100000))
    raise gdb.GdbError("unknown workload " + WORKLOAD)


run("set pagination off")
run("set confirm off")
run("set backtrace past-main on")
setup, work = prepare_and_work()
if WORKLOAD != "connect":
    run("target remote " + TARGET)
    if setup:
        setup()
before = counters()
t0 = time.perf_counter()
work()
elapsed = time.perf_counter() - t0
after = counters()
result = {"workload": WORKLOAD, "seconds": elapsed}
if before is not None and after is not None:
    result["linkBefore"] = before
    result["linkAfter"] = after
print("RESULT " + json.dumps(result))
run("delete")
run("detach")
