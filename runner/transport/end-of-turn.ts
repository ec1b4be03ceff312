/**
 * Replies leave at the end of the event-loop turn that produced them, back to back.
 *
 * Every reply is still one write on its own connection; what changes is when. Written
 * the moment its call finishes, each reply went out between the reads and the plugin
 * work of the other connections served in the same turn; queued and written together
 * in the turn's check phase (`setImmediate`, right after its I/O callbacks), the writes
 * of a turn follow each other within microseconds. Redis answers its clients the same
 * way, just before it waits for more input. On two vCPUs shared with the gateway this
 * took up to a quarter off the runner's CPU per call in slow phases of the host and a
 * few per cent in fast ones (docs/benchmarks.md, change 20); the likely reason is
 * wake-ups: a peer woken by the first of a burst of writes finds the rest already
 * there, where spread-out writes wake it again and again.
 *
 * The delay a reply takes on is the rest of the current turn: the calls that arrived
 * with it, handled synchronously.
 */

/** A connection holding a reply back until {@link writeHeldReply} is called. */
export interface HeldReplyOwner {
  writeHeldReply(): void;
}

let holders: HeldReplyOwner[] = [];
let flushScheduled = false;

/** Call `owner.writeHeldReply()` at the end of this event-loop turn (once per call here). */
export function writeAtEndOfTurn(owner: HeldReplyOwner): void {
  holders.push(owner);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushHeldReplies);
  }
}

function flushHeldReplies(): void {
  flushScheduled = false;
  const due = holders;
  holders = [];
  for (const owner of due) owner.writeHeldReply();
}
