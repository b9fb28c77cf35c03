/**
 * One contender for the per-environment lock, in its own process (as a second n8n worker would
 * be): acquires the lock on the destination in TOTVS_CONTENDER (JSON), proves it is alone inside
 * by creating an exclusive marker on the destination, holds it a moment, and prints one JSON
 * line: { id, alone, enteredAt, leftAt }. Used by test/integration/upload-sets.test.ts.
 */
import type { DestinationConfig } from '../core/destinations';
import { currentOwner, withEnvironmentLock } from '../core/locking/environment-lock';
import { openDestination } from '../core/destinations';

async function main() {
	const {
		destination: config,
		id,
		holdMs,
		startAt,
	} = JSON.parse(process.env.TOTVS_CONTENDER ?? '{}') as {
		destination: DestinationConfig;
		id: string;
		holdMs: number;
		startAt?: number;
	};
	const destination = openDestination(config);
	await destination.list(''); // connected before the start signal
	// All contenders start at the same moment, so they really race (process start-up varies by seconds).
	if (startAt) await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
	try {
		const report = await withEnvironmentLock(
			destination,
			'prod',
			currentOwner(id),
			{ purpose: 'upload', waitMs: 120_000, pollMs: 100 },
			async (lock) => {
				const enteredAt = Date.now();
				const alone = await destination.createExclusive('prod/inside.marker', id);
				await new Promise((resolve) => setTimeout(resolve, holdMs));
				await lock.assertHeld();
				if (alone) await destination.remove('prod/inside.marker');
				return { id, alone, enteredAt, leftAt: Date.now() };
			},
		);
		process.stdout.write(`${JSON.stringify(report)}\n`);
	} finally {
		await destination.close();
	}
}

main().catch((error: Error) => {
	process.stderr.write(`${error.stack}\n`);
	process.exit(1);
});
