/** Following an execution until it ends: progress on stderr, and a notice when its counts stop moving. */
import { Presets, SingleBar } from 'cli-progress';
import { isRunning, readBroadcastStatus, type BroadcastStatus } from '../lib/broadcast-status';
import { progressLine } from '../lib/format';
import type { Target } from '../lib/target';

export interface WatchOptions {
  /** No progress output at all (stdout carries one JSON object). */
  quiet?: boolean;
  /**
   * After RedriveExecution: the redrive count the execution must reach before a
   * FAILED status means the redrive failed, not the run before it.
   */
  minRedriveCount?: number;
}

/**
 * How long the counts may stand still before the watch says so. Longer than a 429 back-off or a
 * shard's visibility timeout (60 s locally), far shorter than the delivery timeout (15 min).
 */
export const STALL_NOTICE_MS = 90_000;

/**
 * Tells when a running broadcast has made no progress (partitions visited, sockets accounted
 * for) for `thresholdMs`: one notice per stall, saying where it stands and what to look at.
 */
export class StallWatch {
  private lastProgress = '';
  private since: number;
  private noticed = false;

  constructor(
    private readonly thresholdMs = STALL_NOTICE_MS,
    now = Date.now(),
  ) {
    this.since = now;
  }

  observe(status: BroadcastStatus, now = Date.now()): string | undefined {
    const { partitions, delivery } = status;
    const progress = `${partitions?.succeeded ?? 0}/${partitions?.failed ?? 0}/${delivery?.accounted ?? 0}/${delivery?.enqueued ?? 0}`;
    if (progress !== this.lastProgress) {
      this.lastProgress = progress;
      this.since = now;
      this.noticed = false;
      return undefined;
    }
    if (this.noticed || now - this.since < this.thresholdMs) return undefined;
    this.noticed = true;
    const where = delivery
      ? `${delivery.accounted.toLocaleString('en-US')} of ${delivery.enqueued.toLocaleString('en-US')} connections accounted for`
      : partitions
        ? `${(partitions.succeeded + partitions.failed).toLocaleString('en-US')} of ${partitions.total.toLocaleString('en-US')} partitions visited`
        : 'still preparing';
    return (
      `no progress for ${Math.round((now - this.since) / 1000)} s (${where}): look for a service that stopped or errors repeating in the stack's log (\`swarmcast local\` terminal, or the ` +
      `consumers' CloudWatch logs), and for delivery tasks on the shard queues' dead-letter queues; the broadcast fails with DeliveryTimeout if delivery does not resume`
    );
  }
}

/** Polls the execution until it ends, showing progress on stderr; returns the final status (with its replays). */
export async function watchUntilDone(target: Target, id: string, options: WatchOptions = {}): Promise<BroadcastStatus> {
  const display = options.quiet ? undefined : progressDisplay();
  const stall = new StallWatch();
  try {
    for (;;) {
      const status = await readBroadcastStatus(target, id, { withReplays: false });
      const stale = status.redriveCount < (options.minRedriveCount ?? 0);
      if (!isRunning(status.status) && !stale) break;
      display?.update(status);
      const notice = stall.observe(status);
      if (notice && !options.quiet) process.stderr.write(`\n${notice}\n`);
      await new Promise((resolve) => setTimeout(resolve, target.pollIntervalMs));
    }
  } finally {
    display?.stop();
  }
  return readBroadcastStatus(target, id);
}

interface ProgressDisplay {
  update(status: BroadcastStatus): void;
  stop(): void;
}

/** A live bar on a terminal; plain lines (only when something changed) for logs and pipes. */
function progressDisplay(): ProgressDisplay {
  return process.stderr.isTTY ? progressBar() : progressLines();
}

function progressLines(): ProgressDisplay {
  let last = '';
  return {
    update(status) {
      const line = progressLine(status);
      if (line !== last) process.stderr.write(`${new Date().toISOString().slice(11, 19)}  ${line}\n`);
      last = line;
    },
    stop() {},
  };
}

/** First the fan-out over partitions, then delivery over connections: the bar follows whichever is under way. */
function progressBar(): ProgressDisplay {
  const bar = new SingleBar(
    { format: '  {phase} {bar} {value}/{total} {unit}  {details}', hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(status) {
      const { partitions, delivery } = status;
      if (!partitions && !delivery) return; // Prepare is still running: no total to show yet
      const [value, total, payload] = delivery
        ? [
            delivery.accounted,
            delivery.enqueued,
            {
              phase: 'delivery',
              unit: 'connections',
              details: `delivered ${delivery.delivered}, gone ${delivery.gone}, failed ${delivery.failed}`,
            },
          ]
        : [
            (partitions?.succeeded ?? 0) + (partitions?.failed ?? 0),
            partitions?.total ?? 0,
            { phase: 'fan-out ', unit: 'partitions', details: partitions?.failed ? `${partitions.failed} failed` : '' },
          ];
      if (!started) {
        bar.start(Math.max(total, 1), value, payload);
        started = true;
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(value, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
