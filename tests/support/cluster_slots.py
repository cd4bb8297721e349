"""Proof that the key layout is ready for Redis Cluster, without a cluster of several nodes.

``one_node_cluster``: a redis-server in cluster mode owning all 16384 slots. A plain client works
against it (no MOVED: every slot is local), but it refuses what a real cluster refuses: a script
whose KEYS hash to different slots, a multi-key command or a MULTI/EXEC across slots (CROSSSLOT).

``ScriptKeyRecorder``: what the cluster does not check on one node is a script touching a key it
was not given in KEYS (Redis 7.0 lets it through while the key is local; on a real cluster it may
live on another node). The recorder follows MONITOR, which lists each command a script runs
(client ``lua``) right after the EVALSHA that ran it, and reports every key a script touched that
was not among its KEYS, and every script or command whose keys span slots.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from redis.crc import key_slot

from tests.support.redis_server import RedisServer, free_port

CLUSTER_ARGS = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
READY_TIMEOUT_S = 30.0
_ARG = re.compile(r'"((?:\\.|[^"\\])*)"')
_LINE = re.compile(r"^\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$")
# Container commands whose key is the argument after the subcommand.
_SUBCOMMAND_KEYED = {"XINFO", "XGROUP", "OBJECT"}
_SCRIPT_CALLS = {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO"}


def _unescape(raw: str) -> str:
    return re.sub(
        r"\\(x[0-9a-fA-F]{2}|.)",
        lambda m: chr(int(m.group(1)[1:], 16))
        if m.group(1).startswith("x")
        else {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b"}.get(m.group(1), m.group(1)),
        raw,
    )


@contextmanager
def one_node_cluster() -> Iterator[RedisServer]:
    # The bus port defaults to port + 10000, which may be taken or past 65535.
    server = RedisServer(extra_args=(*CLUSTER_ARGS, "--cluster-port", str(free_port())))
    server.start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while client.cluster("info")["cluster_state"] != "ok":
            if time.monotonic() > deadline:
                raise RuntimeError("the one-node cluster did not reach cluster_state:ok")
            time.sleep(0.05)
        yield server
    finally:
        client.close()
        server.close()


@dataclass
class ScriptKeyRecorder:
    url: str
    lines: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        client = redis.Redis.from_url(self.url, decode_responses=True)
        monitor = client.monitor()
        monitor.__enter__()
        ready = threading.Event()

        def follow() -> None:
            ready.set()
            connection = monitor.connection
            while not self._stop.is_set():
                try:
                    if not connection.can_read(timeout=0.1):
                        continue
                    line = connection.read_response()
                except (redis.ConnectionError, OSError):
                    return
                self.lines.append(line if isinstance(line, str) else line.decode())
            monitor.__exit__(None, None, None)
            client.close()

        self._thread = threading.Thread(target=follow, name="monitor", daemon=True)
        self._thread.start()
        ready.wait(timeout=READY_TIMEOUT_S)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=READY_TIMEOUT_S)

    def violations(self) -> list[str]:
        """One line per script that touched a key outside its KEYS or whose keys span slots."""
        info = redis.Redis.from_url(self.url, decode_responses=True)
        key_specs: dict[str, tuple[int, int, int]] = {}

        def keys_of(args: list[str]) -> list[str]:
            name = args[0].upper()
            if name in _SUBCOMMAND_KEYED:
                return args[2:3]
            if name not in key_specs:
                spec = info.execute_command("COMMAND", "INFO", name)[name.lower()]
                key_specs[name] = (
                    int(spec["first_key_pos"]),
                    int(spec["last_key_pos"]),
                    int(spec["step_count"]),
                )
            first, last, step = key_specs[name]
            if first == 0:
                return []
            end = len(args) if last < 0 else last + 1
            return args[first:end:step] if step else []

        problems: list[str] = []
        script: tuple[str, set[str]] | None = None
        try:
            for line in self.lines:
                match = _LINE.match(line)
                if match is None:
                    continue
                source, args = match.group(1), [_unescape(a) for a in _ARG.findall(match.group(2))]
                if not args:
                    continue
                if source != "lua":
                    script = None
                    if args[0].upper() in _SCRIPT_CALLS:
                        declared = args[3 : 3 + int(args[2])]
                        if len({key_slot(k.encode()) for k in declared}) > 1:
                            problems.append(f"script {args[1][:12]} KEYS span slots: {declared}")
                        script = (args[1][:12], set(declared))
                    continue
                if script is None:
                    problems.append(f"a script command without its EVALSHA: {args}")
                    continue
                for key in keys_of(args):
                    if key not in script[1]:
                        problems.append(
                            f"script {script[0]} ran {args[0]} on {key!r}, not in its KEYS "
                            f"{sorted(script[1])}"
                        )
        finally:
            info.close()
        return problems

    def scripts_seen(self) -> int:
        return sum(
            1
            for line in self.lines
            if (m := _LINE.match(line)) is not None
            and m.group(1) != "lua"
            and (args := _ARG.findall(m.group(2)))
            and args[0].upper() in _SCRIPT_CALLS
        )
