"""A private Sentinel deployment for tests: one master, its replicas and three sentinels, each a
redis-server process on a free loopback port, which a test can SIGKILL, SIGSTOP or restart."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from etl_core.errors import ReplicationUnconfirmed
from etl_core.replication import wait_for_replicas
from tests.support.redis_server import free_port, redis_server_binary

MASTER_NAME = "trail-etl"


def _wait_for(what: str, predicate: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if predicate():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.05)


class _Node:
    """One redis-server process (a data node or a sentinel) with its own directory."""

    def __init__(self, binary: str, root: Path, name: str) -> None:
        self.binary = binary
        self.name = name
        self.port = free_port()
        self.dir = root / name
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra: list[str] = []

    def client(self, *, timeout_s: float = 1.0) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
        )

    def start_process(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [self.binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: what a crash or an OOM kill does."""
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: the node stops answering (and replicating) without closing its sockets."""
        assert self.proc is not None and self.alive()
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None and self.alive()
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class SentinelTopology:
    """A master, ``replicas`` replicas and ``sentinels`` sentinels monitoring ``MASTER_NAME``.

    Failover is tuned to take a few seconds (``down_after_ms``, ``failover_timeout_ms``), so a
    test of a master's death waits seconds, not Sentinel's default 30 s.
    """

    def __init__(
        self,
        *,
        replicas: int = 1,
        sentinels: int = 3,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 5000,
        appendonly: bool = True,
    ) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server not found on PATH")
        self.root = Path(tempfile.mkdtemp(prefix="trail-etl-sentinel-"))
        self.binary = binary
        self.appendonly = appendonly
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.data = [_Node(binary, self.root, f"data{i}") for i in range(1 + replicas)]
        self.sentinel_nodes = [_Node(binary, self.root, f"sentinel{i}") for i in range(sentinels)]

    # --- addresses -----------------------------------------------------------------------

    @property
    def sentinel_hosts(self) -> str:
        """``host:port,host:port,...`` of the sentinels."""
        return ",".join(f"127.0.0.1:{node.port}" for node in self.sentinel_nodes)

    def sentinel_url(self, db: int = 0) -> str:
        """The ``redis+sentinel://`` URL trail-etl takes for this deployment."""
        return f"redis+sentinel://{self.sentinel_hosts}/{MASTER_NAME}/{db}"

    def node_at(self, port: int) -> _Node:
        return next(node for node in self.data if node.port == port)

    def master(self) -> _Node:
        """The data node the sentinels name as master now."""
        return self.node_at(self.master_address()[1])

    def master_address(self) -> tuple[str, int]:
        for sentinel in self.sentinel_nodes:
            if not sentinel.alive():
                continue
            client = sentinel.client()
            try:
                host, port = client.sentinel_get_master_addr_by_name(MASTER_NAME)
                name = host.decode() if isinstance(host, bytes) else str(host)
                return name, int(port)
            except (redis.RedisError, TypeError):
                continue
            finally:
                client.close()
        raise RuntimeError("no sentinel answered the master's address")

    def replicas(self) -> list[_Node]:
        master = self.master()
        return [node for node in self.data if node is not master]

    # --- life cycle ----------------------------------------------------------------------

    def _data_args(self, node: _Node, replica_of: _Node | None) -> list[str]:
        args = [
            "--port", str(node.port),
            "--bind", "127.0.0.1",
            "--dir", str(node.dir),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--protected-mode", "no",
            "--logfile", str(node.dir / "redis.log"),
            "--repl-diskless-sync", "yes",
            "--repl-diskless-sync-delay", "0",
        ]  # fmt: skip
        if replica_of is not None:
            args += ["--replicaof", "127.0.0.1", str(replica_of.port)]
        return args + node.extra

    def _sentinel_args(self, node: _Node, master: _Node) -> list[str]:
        conf = node.dir / "sentinel.conf"
        quorum = len(self.sentinel_nodes) // 2 + 1
        # Each sentinel is told its peers and the replicas up front (as Sentinel itself writes
        # them into its config), so the topology is whole at start instead of after the hello
        # messages and INFO polls (10 s apart) that would find them.
        known = "".join(
            f"sentinel known-replica {MASTER_NAME} 127.0.0.1 {replica.port}\n"
            for replica in self.data
            if replica is not master
        ) + "".join(
            f"sentinel known-sentinel {MASTER_NAME} 127.0.0.1 {peer.port} {self._myid(peer)}\n"
            for peer in self.sentinel_nodes
            if peer is not node
        )
        conf.write_text(
            f"port {node.port}\n"
            "bind 127.0.0.1\n"
            f"dir {node.dir}\n"
            f"logfile {node.dir / 'sentinel.log'}\n"
            "protected-mode no\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master.port} {quorum}\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {self.down_after_ms}\n"
            f"sentinel failover-timeout {MASTER_NAME} {self.failover_timeout_ms}\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n"
            f"sentinel myid {self._myid(node)}\n" + known
        )
        return [str(conf), "--sentinel"]

    def _myid(self, node: _Node) -> str:
        """A fixed 40-hex-digit run id per sentinel, so its peers can be told it in advance."""
        return f"{self.sentinel_nodes.index(node) + 1:040x}"

    def start(self, *, timeout_s: float = 30.0) -> None:
        master, *replicas = self.data
        master.start_process(self._data_args(master, None))
        _wait_for("the master answering PING", lambda: master.client().ping(), timeout_s)
        for node in replicas:
            node.start_process(self._data_args(node, master))
        for node in replicas:
            _wait_for(
                f"{node.name} in sync",
                lambda node=node: node.client().info("replication")["master_link_status"] == "up",
                timeout_s,
            )
        # After a diskless sync the master starts a replica's command stream only at its first
        # REPLCONF ACK (up to a second later, more on a loaded machine); until then it buffers the
        # stream without sending it, which a test that stops the replica would take for a lag of
        # its own making. A write every replica acknowledges shows the streams flowing.
        _wait_for(
            "every replica acknowledging the master's writes",
            lambda: self._acknowledging(master) == len(replicas),
            timeout_s,
        )
        for sentinel in self.sentinel_nodes:
            sentinel.start_process(self._sentinel_args(sentinel, master))
        for sentinel in self.sentinel_nodes:
            try:
                _wait_for(
                    f"{sentinel.name} seeing every replica and sentinel",
                    lambda sentinel=sentinel: self._sees_all(sentinel),
                    timeout_s,
                )
            except RuntimeError as exc:
                log = sentinel.dir / "sentinel.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
                raise RuntimeError(f"{exc}; {sentinel.name}'s log ends:\n{tail}") from None

    def _acknowledging(self, master: _Node) -> int:
        """Replicas that acknowledge a write (the fence key, deleted after, so none is left)."""
        client = master.client(timeout_s=5)
        try:
            fence = "test-topology-fence"
            ack = wait_for_replicas(
                client, fence_key=fence, replicas=len(self.data) - 1, timeout_ms=1_000
            )
            client.delete(fence)
            return ack.acknowledged
        except ReplicationUnconfirmed:  # no answer yet: ask again
            return 0
        finally:
            client.close()

    def _sees_all(self, sentinel: _Node) -> bool:
        client = sentinel.client()
        try:
            state = client.sentinel_master(MASTER_NAME)
            return (
                int(state["num-slaves"]) == len(self.data) - 1
                and int(state["num-other-sentinels"]) == len(self.sentinel_nodes) - 1
            )
        finally:
            client.close()

    def kill_master(self, *, timeout_s: float = 60.0) -> _Node:
        """SIGKILL the master and wait until the sentinels name another; returns the new one."""
        old = self.master()
        old.kill()
        self.wait_for_new_master(old, timeout_s=timeout_s)
        return self.master()

    def wait_for_new_master(self, old: _Node, *, timeout_s: float = 60.0) -> None:
        def promoted() -> bool:
            new = self.master()
            if new is old:
                return False
            return bool(new.client().info("replication")["role"] == "master")

        _wait_for(f"a replica promoted in place of {old.name}", promoted, timeout_s)

    def restart(self, node: _Node, *, timeout_s: float = 30.0) -> None:
        """Start a killed data node again on its port and data dir; the sentinels turn it into a
        replica of the current master."""
        assert not node.alive()
        node.start_process(self._data_args(node, None))
        _wait_for(f"{node.name} answering PING", lambda: node.client().ping(), timeout_s)

    def wait_replica_of_master(self, node: _Node, *, timeout_s: float = 60.0) -> None:
        master = self.master()

        def following() -> bool:
            info = node.client().info("replication")
            return bool(
                info["role"] == "slave"
                and int(info["master_port"]) == master.port
                and info["master_link_status"] == "up"
            )

        _wait_for(f"{node.name} replicating the new master", following, timeout_s)

    def close(self) -> None:
        for node in [*self.sentinel_nodes, *self.data]:
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def sentinel_topology(**kwargs: object) -> Iterator[SentinelTopology]:
    topology = SentinelTopology(**kwargs)  # type: ignore[arg-type]
    try:
        topology.start()
        yield topology
    finally:
        topology.close()
