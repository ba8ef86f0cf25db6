"""The writer lease of a shared store: one machine at a time writes to a Chroma server.

Each machine's file lock (agent.lock) keeps its own processes apart; the lease keeps machines
apart. A *claim* is one row of ``pb_shared_lease``: holder (host, pid, command), claimed_at and
expires (wall-clock seconds). The holder renews its claim every ``ttl / 4``; a claim whose
expiry passed belongs to a dead (or frozen) holder and anyone may delete it.

Chroma has no transactions, so taking the lease is a claim-then-check:

1. read the claims, deleting expired ones; if another live claim exists, the lease is taken;
2. write our claim; 3. read the claims again: we hold the lease only if ours is the one live
   claim. Otherwise delete ours, back off a random moment and start again (a tie of two
   claims written at once is retried, not reported as a holder).

Why two claimers cannot both win: one Chroma server answers reads after the writes it has
acknowledged. If A's check (3) saw no claim of B, B's write (2) ended after A's check began,
hence after A's write, so B's check sees A's claim and B backs off. Both may back off (both
saw each other); the random back-off breaks that tie. What the design relies on: clocks within
a few seconds of each other (NTP) against a ttl of a minute, a holder that is never frozen
longer than its ttl (a suspended laptop loses its lease: its renewal notices the claim is gone
and logs it), and a single Chroma server (not a distributed deployment with lagging reads).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.errors import LockedError
from store.shared.table import Meta, Row, SharedTable

log = logging.getLogger(__name__)

#: Seconds a claim lives without renewal.
DEFAULT_TTL = 60.0
#: Back-offs after simultaneous claims before a claimer gives up on a wait of 0.
_MAX_TIES = 8


@dataclass(frozen=True)
class Claim:
    id: str
    host: str
    pid: int
    command: str
    claimed_at: float
    expires: float

    @classmethod
    def of(cls, row: Row) -> Claim:
        m = row.meta
        return cls(row.id, str(m.get("host", "?")), int(m.get("pid", 0)),
                   str(m.get("command", "")), float(m.get("claimed_at", 0)),
                   float(m.get("expires", 0)))  # fmt: skip

    def describe(self) -> str:
        until = datetime.fromtimestamp(self.expires, UTC).strftime("%H:%M:%S UTC")
        what = f": {self.command}" if self.command else ""
        return f"{self.host} pid {self.pid}{what}, lease renewed until {until}"


class LeaseHeld(LockedError):
    """Another machine (or process) holds the writer lease of the shared store."""

    default_hint = (
        "Only one machine writes to a shared store: run the daily job on one writer, or queue "
        "behind it with `paperbrief --wait SECONDS COMMAND`. A lease whose holder died expires "
        "by itself within a minute."
    )

    def __init__(self, chroma_url: str, holder: Claim) -> None:
        super().__init__(
            f"Another paperbrief run ({holder.describe()}) is writing to the shared store at "
            f"{chroma_url}."
        )
        self.holder = holder


def _table(client: Any, chroma_url: str) -> SharedTable:
    return SharedTable(chroma_url, "lease", client=client)


def live_claims(client: Any, chroma_url: str, *, now: float | None = None) -> list[Claim]:
    """The unexpired claims, oldest first (expired ones are left for a claimer to delete)."""
    now = time.time() if now is None else now
    claims = [Claim.of(r) for r in _table(client, chroma_url).where()]
    return sorted((c for c in claims if c.expires > now), key=lambda c: (c.claimed_at, c.id))


class SharedLease:
    """``acquire(wait)`` / ``release()``; renewed by a daemon thread while held."""

    def __init__(
        self, chroma_url: str, command: str, *, ttl: float = DEFAULT_TTL, client: Any = None
    ) -> None:
        self.chroma_url = chroma_url
        self.table = _table(client, chroma_url)
        self.ttl = ttl
        self.claim = Claim(uuid.uuid4().hex, socket.gethostname(), os.getpid(), command, 0, 0)
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.lost = False

    # --- taking -------------------------------------------------------------------------------
    def acquire(self, wait: float = 0.0) -> None:
        deadline = time.monotonic() + wait
        told = False
        ties = 0
        while True:
            holder = self._others()
            if holder is None:
                self._write(claimed_at=time.time())
                if self._others() is None:
                    self._start_renewing()
                    return
                # Another claim landed at the same moment: both back off. That is a tie, not
                # a holder, so it does not count against ``wait`` (a few times at most).
                self.table.delete([self.claim.id])
                ties += 1
                if ties <= _MAX_TIES:
                    time.sleep(random.random() * 0.5)
                    continue
                holder = self._others()
                if holder is None:
                    continue
            if time.monotonic() >= deadline:
                raise LeaseHeld(self.chroma_url, holder)
            if not told:
                log.info("waiting up to %.0f s for %s", wait, holder.describe())
                told = True
            time.sleep(0.2 + random.random() * 0.3)

    def _others(self) -> Claim | None:
        """The oldest live claim that is not ours, deleting the expired ones on the way."""
        now = time.time()
        claims = [Claim.of(r) for r in self.table.where()]
        expired = [c.id for c in claims if c.expires <= now and c.id != self.claim.id]
        if expired:
            log.info("taking over an expired writer lease (%d claim(s))", len(expired))
            self.table.delete(expired)
        live = sorted((c for c in claims if c.expires > now and c.id != self.claim.id),
                      key=lambda c: (c.claimed_at, c.id))  # fmt: skip
        return live[0] if live else None

    def _write(self, *, claimed_at: float) -> None:
        c = self.claim
        self.claim = Claim(c.id, c.host, c.pid, c.command, claimed_at, time.time() + self.ttl)
        c = self.claim
        meta: Meta = {"host": c.host, "pid": c.pid, "command": c.command,
                "claimed_at": c.claimed_at, "expires": c.expires}  # fmt: skip
        self.table.put([(c.id, None, meta)])

    # --- holding ------------------------------------------------------------------------------
    def _start_renewing(self) -> None:
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, name="lease-renewal",
                                         daemon=True)  # fmt: skip
        self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                self.renew()
            except Exception:  # the server hiccupped: try again at the next tick
                log.warning("could not renew the writer lease", exc_info=True)
            if self.lost:
                return

    def renew(self) -> bool:
        """Push the expiry forward; False (and ``lost``) when the claim was taken away: a
        claim is never written back once gone, or a taker's check could miss it."""
        if self.table.one(self.claim.id) is None:
            self.lost = True
            log.error("the writer lease on %s expired and was taken over", self.chroma_url)
            return False
        self._write(claimed_at=self.claim.claimed_at)
        return True

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=10)
            self._renewer = None
        self.table.delete([self.claim.id])
