"""A job: one OS process running one pool slot of one item.

Started by the supervisor as
``python -m iop.engine.processes job NAMESPACE PRODUCTION ITEM SLOT JOB_ID SUPERVISOR_PID``.
"""

from __future__ import annotations

import collections
import functools
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from iop.components import kinds
from iop.engine.config import ItemConfig
from iop.engine.control import request_update, set_item_enabled
from iop.engine.errors import EngineError
from iop.engine.host_runtime import HostRuntime
from iop.engine.hosts import LiveHost, make_host
from iop.engine.outcomes.handler import Handler
from iop.engine.outcomes.outcome import Outcome, apply_outcome
from iop.engine.outcomes.reply_policy import ReplyPolicy
from iop.store import records as r
from iop.store.base import Duty, Listener, Store
from iop.store.errors import StoreError, StoreUnavailable

LEASE_SECONDS = 60.0
HEARTBEAT_SECONDS = 2.0
IDLE_POLL_SECONDS = 1.0
# A polling job whose slot another host's job polls tries to take it over this often.
POLL_DUTY_RETRY_SECONDS = 1.0
BATCH = 32
# After a small batch of asynchronous messages a job naps this long (cut short by a
# synchronous caller's ring) so that senders' messages pile up into bigger batches:
# one commit then completes many messages instead of one.
BATCH_NAP_SECONDS = 0.002
# Answers to waiting callers handled one after another commit together while this lasts.
SYNC_GROUP_SECONDS = 0.001
RECENT_ENTRIES = 1024


class Job:
    """Claims, dispatches and completes messages for one item until told to stop."""

    def __init__(self, store: Store, item: ItemConfig, slot: int, job_id: str,
                 supervisor_pid: int, production: str | None = None) -> None:
        self.store = store
        self.item = item
        self.slot = slot
        self.job_id = job_id
        self.stopping = False
        self.processed = 0
        self.runtime = HostRuntime(store, item.name, job_id, production)
        self.runtime.stop_waiting = self._stop_waiting
        self._lease_checked = 0.0
        self._ended_by = ""  # why a wait ended the job (its supervisor gone, its lease lost)
        self.live: LiveHost | None = None
        self._last_beat = 0.0
        self._parent = supervisor_pid
        self.production = production
        self.policy: ReplyPolicy | None = None
        self.state = "running"  # "standby" while another host's job of this slot polls
        self._poll_duty: Duty | None = None
        self._duty_error = ""
        # Deliveries this job took lately, as (queue id, header id): queue ids alone are
        # reused once a queue empties. A request handed to the job is also found by its next
        # claim when the hand-over is read late; it must not be handled twice.
        self._recent: collections.deque[tuple[int, int]] = collections.deque(
            maxlen=RECENT_ENTRIES)
        self._recent_set: set[tuple[int, int]] = set()
        self._handling_seconds = 0.0  # moving average of one message's handling time
        self._mark_asleep: Callable[[bool], None] = lambda asleep: None

    def request_stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C goes to the supervisor, which stops us
        listener = self._listen()
        if listener is None:
            return 3
        now = time.time()
        self.store.put_job(r.JobRecord(self.job_id, self.item.name, self.slot, os.getpid(),
                                       self.store.host, "starting", now, now))
        try:
            self.live = make_host(self.store, self.item, self.runtime)
            if self.live.kind != kinds.SERVICE:
                self.policy = ReplyPolicy(Handler(self.store, self.live), self._pause)
        except Exception as exc:
            self.runtime.log(None, "error", f"item {self.item.name} failed to start: "
                             f"{type(exc).__name__}: {exc}" if not isinstance(exc, EngineError)
                             else str(exc), "on_init")
            self.runtime.flush_logs()
            self.store.delete_job(self.job_id)
            return 3
        if self.live.kind == kinds.SERVICE:
            # Known only now: nothing rings a service, and its backend may let it sleep on
            # something cheaper than a listener.
            listener = self.store.notifier.service_listener(listener)
        if self.live.kind == kinds.SERVICE and self.live.adapter is not None:
            # One poller per pool slot in the whole namespace, whichever host it runs on:
            # the production polls as if it ran on one host (DESIGN.md, "The store"). The
            # first attempt comes before the job reports ready, so listings never show two
            # pollers of one slot.
            self._poll_duty = self.store.duty(f"poll:{self.item.name}:{self.slot}")
            self._hold_poll_duty(report=False)
        self.store.heartbeat_job(self.job_id, 0, self.state)
        self._last_beat = time.monotonic()
        try:
            while True:
                try:
                    if self.live.kind == kinds.SERVICE:
                        self._run_service(listener)
                    else:
                        self._run_queue(listener)
                    break
                except StoreUnavailable as exc:
                    if not self._ride_out(exc):
                        break  # asked to stop during the outage
        except SystemExit:
            if not self._ended_by:
                raise
            self.runtime.log(None, "warning", f"job {self.slot} of item {self.item.name} stopped "
                             f"waiting: {self._ended_by}; its message will be delivered again",
                             "run")
            self.runtime.flush_logs()
        finally:
            try:
                self._tear_down()
            except StoreUnavailable:
                pass  # the supervisor forgets this job when it reaps it
            if self._poll_duty is not None:
                self._poll_duty.release()  # only now may another host's job poll
            listener.close()
        return 0

    def _ride_out(self, exc: StoreUnavailable) -> bool:
        """The store failed outside a commit: wait until it answers again, then give back
        whatever this job held (messages claimed but not handled, contexts), so that they
        are claimed again at once; False when asked to stop meanwhile."""
        outage = self.runtime.outage
        if not outage.wait(exc, self._should_stop):
            return False
        try:
            outage.call(lambda: self.store.release_leases(self.job_id), self._should_stop)
        except StoreUnavailable:
            return False
        self.runtime.note_outages()
        self.runtime.flush_logs()
        return True

    def _listen(self) -> Listener | None:
        # A job of a supervisor that just died may still hold this slot's address for the
        # few seconds it takes to notice; wait for it rather than fail at once.
        deadline = time.monotonic() + 2 * HEARTBEAT_SECONDS + 1
        while True:
            try:
                return self.store.notifier.listen_item(self.item.name, self.slot)
            except OSError as exc:
                if time.monotonic() > deadline:
                    self.runtime.log(None, "error", f"job {self.slot} of item {self.item.name} "
                                     f"cannot listen for wake-ups ({exc.strerror}); is another "
                                     "supervisor running this production?", "run")
                    self.runtime.flush_logs()
                    return None
                time.sleep(0.1)

    def _should_stop(self) -> bool:
        """Asked to stop, or orphaned: a supervisor that died leaves no one to ask."""
        if os.getppid() != self._parent:
            self.stopping = True
        return self.stopping

    def _beat(self) -> None:
        if os.getppid() != self._parent:
            self.stopping = True  # the supervisor died: a new one will start fresh jobs
            return
        if time.monotonic() - self._last_beat >= HEARTBEAT_SECONDS:
            self._last_beat = time.monotonic()
            self.store.heartbeat_job(self.job_id, self.processed, self.state)
            self.store.extend_leases(self.job_id, LEASE_SECONDS)

    def _lease_lost(self) -> bool:
        """Whether this job was taken for dead (its record and leases given away: a fenced
        host, a new supervisor, iop -k); read at most every HEARTBEAT_SECONDS."""
        now = time.monotonic()
        if now - self._lease_checked < HEARTBEAT_SECONDS:
            return False
        self._lease_checked = now
        try:
            return all(job.id != self.job_id for job in self.store.list_jobs(host=self.store.host))
        except StoreError:
            return False  # an outage takes nothing from us: look again later

    def _stop_waiting(self) -> bool:
        """Asked by each wait of the job's runtime: keep heartbeat and leases going, end the
        job's wait at once (SystemExit) when it must not go on, and otherwise say whether it
        is asked to stop (a retry through an outage gives up; a synchronous wait does not:
        the stop's waves keep its target running, so its answer comes within
        ShutdownTimeout)."""
        try:
            self._beat()
        except StoreError:
            pass  # beaten again at the next look
        if os.getppid() != self._parent:
            self._ended_by = "its supervisor is gone"
        elif self._lease_lost():
            self._ended_by = "its lease was lost (the job was taken for dead)"
        if self._ended_by:
            # SystemExit, which a handler's `except Exception` does not catch, ends the
            # handler; its message is not completed.
            self.stopping = True
            raise SystemExit(self._ended_by)
        return self.stopping

    def _keepalive_interval(self) -> float:
        adapter = self.live.adapter if self.live is not None else None
        try:
            return float(getattr(adapter, "KeepaliveInterval", 0) or 0)
        except (TypeError, ValueError):
            return 0.0

    def _keepalive(self) -> None:
        assert self.live is not None
        for part in (self.live.adapter, self.live.host):
            hook = getattr(part, "on_keepalive", None)
            if hook is None:
                continue
            try:
                hook()
            except Exception as exc:
                self.runtime.log(part, "error", f"on_keepalive failed: {type(exc).__name__}: {exc}",
                                 "on_keepalive")
        self.runtime.flush_logs()

    def _pause(self, seconds: float) -> bool:
        """Sleep (heartbeats going on); False as soon as the job is asked to stop."""
        deadline = time.monotonic() + seconds
        while not self.stopping:
            self._beat()
            if self._lease_lost():
                self.stopping = True  # another job has the message now
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            time.sleep(min(remaining, 0.2))
        return False

    def _disable_item(self) -> None:
        """ReplyCodeActions D: disable this item and let the supervisor stop its jobs."""
        try:
            set_item_enabled(self.store, self.production or "", self.item.name, False)
            request_update(self.store)  # every host stops its jobs of this item
        except EngineError as exc:
            self.runtime.log(None, "error", f"cannot disable item {self.item.name}: {exc}",
                             "reply_policy")
            self.runtime.flush_logs()
        while not self.stopping:  # claim nothing more; the update ends this job
            self._pause(1.0)

    def _run_queue(self, listener: Listener) -> None:
        assert self.live is not None and self.policy is not None
        policy = self.policy
        rung = False
        keepalive = self._keepalive_interval()
        next_keepalive = time.monotonic() + keepalive if keepalive > 0 else float("inf")
        mark = self._mark_asleep = listener.set_asleep
        listener.offer_handoffs(self.job_id)  # callers may lease synchronous requests to us
        deliveries = self.store.claim(self.item.name, self.job_id, BATCH, LEASE_SECONDS)
        # Just after a message was handled the next one often follows at once (a caller's
        # next synchronous request): the first wait then polls for a moment before sleeping.
        worked = False
        while not self.stopping:
            if time.monotonic() >= next_keepalive:
                self._keepalive()
                next_keepalive = time.monotonic() + keepalive
            if not deliveries:
                self._beat()
                # Say we sleep, then look once more: a sender that committed before this mark
                # was set is seen by this look; one that commits after it sees the mark.
                mark(True)
                deliveries = self._fresh(listener.handoffs_before_sleep())
                if deliveries:
                    mark(False)
                    continue
                # (Not what is leased to us: a request handed over is in a datagram on its
                # way; the claim after an unrung wait picks it up if that datagram is lost.)
                # Where every job is rung (PostgreSQL), the claim that just came back empty
                # was that look: a ring for anything sent since is waiting for us.
                if listener.look_again(lambda: self.store.has_work(self.item.name)):
                    mark(False)
                    deliveries = self.store.claim(self.item.name, self.job_id, BATCH,
                                                  LEASE_SECONDS)
                    continue
                rung = listener.wait(min(IDLE_POLL_SECONDS,
                                         max(0.0, next_keepalive - time.monotonic())),
                                     spin=worked)
                worked = False
                mark(False)
                deliveries = self._fresh(listener.take_handoffs())
                if deliveries:
                    continue  # handed over, already leased to us: no claim needed
                # After a ring there is almost surely work: skip the read and claim at once.
                # After a quiet wait, also take requests handed to us whose datagram was lost.
                deliveries = self.store.claim(self.item.name, self.job_id, BATCH, LEASE_SECONDS,
                                              check_first=not rung, handed=not rung)
                continue
            mark(False)
            if len(deliveries) >= BATCH and self.item.pool_size > 1:
                # A backlog: wake the next job of this item to share it.
                self.store.notifier.ring_item(self.item.name, urgent=False, slot=self.slot + 1)
            pending: list[Outcome] = []
            flush = functools.partial(self._flush, pending)
            answered_since = 0.0  # when the oldest answer not yet committed was ready
            for index, delivery in enumerate(deliveries):
                self._remember((delivery.queue_id, delivery.header.id))
                started = time.monotonic()
                try:
                    outcome = policy.handle(delivery, flush)
                except StoreUnavailable:
                    # The handler met an outage (a call it made, a read): what the batch
                    # finished so far is committed once the store is back; this message and
                    # the rest of the batch are given back and handled again (_ride_out).
                    self._commit(pending)
                    raise
                # How long a message takes to handle here (a moving average).
                self._handling_seconds += (time.monotonic() - started -
                                           self._handling_seconds) / 8
                if outcome is not None:
                    pending.append(outcome)
                if policy.disable_requested:
                    self._commit(pending)
                    self._disable_item()
                    return
                if self.stopping or outcome is None:
                    self._commit(pending)
                    return
                # A waiting caller's answer commits with the next ones handled quickly
                # (one commit, and one WAL flush, for them all), but waits no longer than
                # SYNC_GROUP_SECONDS for the rest of the batch.
                if delivery.header.reply_to and index < len(deliveries) - 1:
                    now = time.monotonic()
                    answered_since = answered_since or now
                    if now - answered_since + self._handling_seconds >= SYNC_GROUP_SECONDS:
                        flush()
                        answered_since = 0.0
            napped = len(deliveries) < BATCH and not any(d.header.reply_to for d in deliveries)
            if napped:
                # A small asynchronous batch: wait a moment (unless a caller is waiting) so
                # that this completion and the next claim carry more messages per commit.
                # (That wait takes ordinary rings without ending, so the claim follows.)
                listener.wait(BATCH_NAP_SECONDS, urgent_only=True)
            # Completing this batch and claiming the next share one transaction, or (where
            # that claim is a transaction of its own) one round trip. After answering waiting
            # callers the latter is made only when more is known to wait: a full batch, or a
            # ring that came meanwhile; else the job sleeps, and the ring of the next message
            # wakes it. With several hosts this spares the server claims that find nothing.
            claim_next = not self.stopping and (
                napped or len(deliveries) >= BATCH or not self.store.claims_after_commit
                or listener.wait(0))
            deliveries = self._commit(pending, claim_next=claim_next)
            worked = True
            self._beat()

    def _remember(self, taken: tuple[int, int]) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(taken)
        self._recent_set.add(taken)

    def _fresh(self, handed: list[r.Delivery]) -> list[r.Delivery]:
        """Hand-overs not already taken by a claim."""
        return [d for d in handed if (d.queue_id, d.header.id) not in self._recent_set]

    def _flush(self, outcomes: list[Outcome]) -> None:
        """Commit what is pending now (before a retry makes the rest of the batch wait)."""
        self._commit(outcomes)
        outcomes.clear()

    def _commit(self, outcomes: list[Outcome], claim_next: bool = False) -> list[r.Delivery]:
        """Commit the outcomes (and claim the next batch); through a store outage the
        commit is tried again until it passes: an outage never fails a message. (A commit
        that passed although the outage cut its answer finds its leases gone when tried
        again and writes nothing twice.)"""
        if not outcomes and not claim_next:
            return []
        tries = 0

        def once() -> list[r.Delivery]:
            nonlocal tries
            tries += 1
            if tries == 1 or not claim_next or not self.store.claims_after_commit:
                return self._commit_once(outcomes, claim_next)
            # A claim sent with the commit may have been made by the server although the
            # outage cut its answer: this job would hold leases it never saw, and its
            # heartbeats would extend them forever. At the end of a batch it holds nothing
            # else, so it commits, gives back whatever it still holds, and claims afresh.
            self._commit_once(outcomes, False)
            self.store.release_leases(self.job_id)
            return self.store.claim(self.item.name, self.job_id, BATCH, LEASE_SECONDS)

        following = self.runtime.ride(once)
        self.runtime.flush_logs()
        return following

    def _commit_once(self, outcomes: list[Outcome], claim_next: bool) -> list[r.Delivery]:
        lost = done = 0
        following: list[r.Delivery] | Callable[[], list[r.Delivery]] = []
        with self.store.transaction() as tx:
            for outcome in outcomes:
                if apply_outcome(tx, outcome, self.job_id):
                    done += 1
                else:
                    lost += 1
            if claim_next:
                following = tx.claim_at_commit(self.item.name, self.job_id, BATCH,
                                               LEASE_SECONDS)
                if isinstance(following, list) and not following:
                    # About to sleep: be a job synchronous callers may hand requests to from
                    # now on (a waiting caller is rung after this commit and sends again).
                    self._mark_asleep(True)
        self.processed += done - tx.lost_at_commit
        if callable(following):
            following = following()  # the claim travelled with the commit
        lost += tx.lost_at_commit
        if lost:
            self.store.log([self.runtime.entry(
                "warning", f"{lost} message(s) were handled after this job's lease expired; "
                "another job delivers them again", "commit")])
        return following

    def _run_service(self, listener: Listener) -> None:
        assert self.live is not None
        adapter = self.live.adapter
        if adapter is None:
            # Services without an inbound adapter are driven by a Director in another process.
            while not self.stopping:
                self._beat()
                listener.wait(IDLE_POLL_SECONDS)
            return
        interval = float(getattr(adapter, "CallInterval", 5) or 5)
        next_run = time.monotonic()
        while not self.stopping:
            if time.monotonic() >= next_run:
                if self.store.inputs_paused():
                    # The store's disk is nearly full: take no input (the supervisor says so
                    # in the log); look again shortly.
                    next_run = time.monotonic() + min(interval, IDLE_POLL_SECONDS)
                elif self._hold_poll_duty():
                    next_run = time.monotonic() + interval
                    try:
                        adapter.on_task()
                    except StoreUnavailable:
                        raise  # waited out by run(); the next poll comes after it
                    except Exception as exc:
                        import traceback

                        self.runtime.log(self.live.host, "error", "on_task failed: " + "".join(
                            traceback.format_exception(exc)).rstrip(), "on_task")
                        if str(getattr(self.live.host, "AlertOnError", False)).lower() in \
                                ("true", "1"):
                            self.runtime.log(self.live.host, "alert", f"{self.item.name}: "
                                             f"on_task failed: {type(exc).__name__}: {exc}",
                                             "on_task")
                    self.runtime.flush_logs()
                else:
                    next_run = time.monotonic() + POLL_DUTY_RETRY_SECONDS
            self._beat()
            listener.wait(max(0.0, min(next_run - time.monotonic(), IDLE_POLL_SECONDS)))

    def _hold_poll_duty(self, report: bool = True) -> bool:
        """Whether this job may poll now: it holds (or just took) its slot's polling duty.

        ``report`` False: the job has not reported ready yet; its state goes out with that.
        """
        assert self._poll_duty is not None
        try:
            holding = self._poll_duty.take()
            self._duty_error = ""
        except StoreError as exc:
            holding = False
            if str(exc) != self._duty_error:  # once per outage, not every retry
                self._duty_error = str(exc)
                self.runtime.log(None, "error", str(exc), "on_task")
        state = "running" if holding else "standby"
        if state != self.state:
            self.state = state
            if report:
                self.store.heartbeat_job(self.job_id, self.processed, state)
            where = f"job {self.slot} of item {self.item.name} on host {self.store.host}"
            self.runtime.log(None, "info", f"{where} takes over polling" if holding else
                             f"{where} stands by: another job polls this slot", "on_task")
        self.runtime.flush_logs()
        return holding

    def _tear_down(self) -> None:
        live = self.live
        if live is None:
            return
        for part in (live.host, live.adapter):
            if part is None:
                continue
            try:
                part.on_tear_down()
            except Exception as exc:
                self.runtime.log(part, "error", f"on_tear_down failed: {exc}", "on_tear_down")
        self.runtime.flush_logs()
        try:
            self.store.delete_job(self.job_id)
        except StoreUnavailable:
            pass  # the supervisor forgets this job's row when it reaps it
