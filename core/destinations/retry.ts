/**
 * The one retry policy of the destinations: exponential backoff with jitter. What is worth a
 * retry is the backend's call (a Drive 429 is, a refused login is not); how long to wait, and
 * how often, is decided here only.
 */

/** The wait before retry number `failures` (1 = first retry): 0.5 s doubling, at most 30 s, with jitter. */
export function backoffDelay(failures: number, baseDelayMs = 500, maxDelayMs = 30_000): number {
	return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, failures - 1)) * (0.5 + Math.random() / 2);
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Retries `attempt` with exponential backoff and jitter while `isRetryable(error)`. */
export async function withRetries<T>(
	attempt: (attemptNumber: number) => Promise<T>,
	isRetryable: (error: unknown) => boolean,
	{
		maxRetries = 5,
		baseDelayMs = 500,
		maxDelayMs = 30_000,
		signal,
	}: { maxRetries?: number; baseDelayMs?: number; maxDelayMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
	for (let n = 0; ; n++) {
		try {
			return await attempt(n);
		} catch (error) {
			if (n >= maxRetries || !isRetryable(error) || signal?.aborted) throw error;
			await sleep(backoffDelay(n + 1, baseDelayMs, maxDelayMs));
		}
	}
}
