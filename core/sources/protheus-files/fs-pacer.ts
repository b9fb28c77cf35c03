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
	private slowCalls = 0;
	private sliceStart = performance.now();

	constructor(
		private readonly sliceMs = 20,
		private readonly slowCallMs = 2,
		/** A few slow calls can be a busy CPU; many are a slow filesystem. */
		private readonly slowCallsToSwitch = 8,
	) {}

	get slow(): boolean {
		return this.slowCalls >= this.slowCallsToSwitch;
	}

	async run<T>(sync: () => T, async: () => Promise<T>): Promise<T> {
		if (this.slow) return async();
		const started = performance.now();
		if (started - this.sliceStart > this.sliceMs) {
			await yieldToEventLoop();
			this.sliceStart = performance.now();
		}
		const before = performance.now();
		const result = sync();
		if (performance.now() - before > this.slowCallMs) this.slowCalls++;
		return result;
	}
}
