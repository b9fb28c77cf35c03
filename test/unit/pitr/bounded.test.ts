/**
 * Every wait of the PITR engine is bounded: a promise that never settles, a stream that stops
 * moving and a program that never exits each end in a TIMEOUT error that names what hung.
 */
import { isBackupError } from '../../../core/errors';
import { bounded, stallGuard } from '../../../core/sources/postgres-pitr/bounded';
import { runTool } from '../../../core/sources/postgres-pitr/tools';

test('a wait that never ends becomes a TIMEOUT naming it; one that ends passes its value through', async () => {
	const never = new Promise<never>(() => undefined);
	const error = await bounded(never, 50, 'Reading the slot', 'Check the server.').catch((e: unknown) => e);
	expect(isBackupError(error) && error.code).toBe('TIMEOUT');
	expect((error as Error).message).toBe('Reading the slot did not finish within 0 s');
	await expect(bounded(Promise.resolve(7), 50, 'x', 'y')).resolves.toBe(7);
});

test('a stall guard aborts when nothing moved, and not while something moves', async () => {
	const moving = stallGuard(1_000, 'Copying', 'hint');
	const ticker = setInterval(moving.touch, 50);
	await new Promise((resolve) => setTimeout(resolve, 1_500));
	clearInterval(ticker);
	expect(moving.signal.aborted).toBe(false);
	moving.dispose();

	const stuck = stallGuard(100, 'Extracting base.tar.gz', 'Check the disk.');
	await new Promise<void>((resolve) => stuck.signal.addEventListener('abort', () => resolve()));
	stuck.dispose();
	const reason = stuck.signal.reason as Error;
	expect(isBackupError(reason) && reason.code).toBe('TIMEOUT');
	expect(reason.message).toBe('Extracting base.tar.gz made no progress for 0 s');
});

test('a program that does not exit in time is killed and reported as timed out', async () => {
	const result = await runTool('sleep', ['60'], { timeoutMs: 200 });
	expect(result.timedOut).toBe(true);
	expect(result.code).not.toBe(0);
});
