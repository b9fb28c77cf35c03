import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/**
 * Runs small filesystem calls synchronously while they are fast, and asynchronously once one
 * is slow. On a local disk a synchronous lstat or small read costs microseconds, while an
 * async call costs a thread-pool round trip (20-50x more for the tens of thousands of small
 * files a Protheus_Data holds). On a network share (SMB/NFS mounts of Protheus_Data are
 * common) a call can take milliseconds: then everything goes async, so n8n's event loop is
 * never held. Even when fast, control returns to the event loop every `sliceMs`.
 */
export class FsPacer {
	private calls = 0;
	private slowCalls = 0;
	private switched = false;
	private sliceStart = performance.now();

	constructor(
		private readonly sliceMs = 20,
		private readonly slowCallMs = 2,
		/**
		 * A few slow calls can be a busy CPU (a thread preempted in the middle of a call); many,
		 * and a good share of all calls (1 in 20), are a slow filesystem.
		 */
		private readonly slowCallsToSwitch = 8,
	) {}

	/** Once slow, always slow (for this backup): a share does not get fast half way. */
	get slow(): boolean {
		if (!this.switched && this.slowCalls >= this.slowCallsToSwitch && this.slowCalls * 20 >= this.calls)
			this.switched = true;
		return this.switched;
	}

	/** Counts one call that took `elapsedMs`; `bytes` allows for a large read's own time (100 MB/s). */
	record(elapsedMs: number, bytes = 0) {
		this.calls++;
		if (elapsedMs > this.slowCallMs + bytes / 100_000) this.slowCalls++;
	}

	async run<T>(sync: () => T, async: () => Promise<T>): Promise<T> {
		if (this.slow) return async();
		if (this.due()) await this.yield();
		return this.timed(sync);
	}

	/** The current slice is used up: the caller should `await yield()` before more synchronous calls. */
	due(): boolean {
		return performance.now() - this.sliceStart > this.sliceMs;
	}

	async yield(): Promise<void> {
		await yieldToEventLoop();
		this.sliceStart = performance.now();
	}

	/** Runs one synchronous call and records how long it took (see `record`). */
	timed<T>(sync: () => T, bytes = 0): T {
		const before = performance.now();
		const result = sync();
		this.record(performance.now() - before, bytes);
		return result;
	}
}
