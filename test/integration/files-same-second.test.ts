/**
 * Set names have one-second resolution: a full and an incremental made in the same second tie on
 * the name, and the next incremental must still build on the newest of them (found by the
 * manifests' own times), not on whichever the folder listing returns first.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProtheusTree, filesBackup } from '../../support/fixtures/protheus-tree';

// Only Date is faked: timers, I/O and child processes run for real.
const REAL = [
	'hrtime',
	'nextTick',
	'performance',
	'queueMicrotask',
	'setImmediate',
	'clearImmediate',
	'setInterval',
	'clearInterval',
	'setTimeout',
	'clearTimeout',
] as const;

let work: string;
beforeAll(() => {
	work = mkdtempSync(join(tmpdir(), 'totvs-same-second-'));
});
afterAll(() => {
	jest.useRealTimers();
	rmSync(work, { recursive: true, force: true });
});

it('an incremental made in the same second as a full and an incremental builds on the incremental', async () => {
	const tree = await createProtheusTree(join(work, 'totvs'), {
		smallFiles: 20,
		tables: 1,
		tableBytes: 4 << 10,
		rpoBytes: 16 << 10,
	});
	const staging = join(work, 'staging');
	await mkdir(staging);
	const options = { folders: [tree.protheusData], protheusDefaults: false };
	jest.useFakeTimers({ doNotFake: [...REAL] });
	const at = (ms: number) => jest.setSystemTime(new Date(Date.UTC(2026, 11, 5, 10, 0, 0, ms)));
	at(100);
	const full = await filesBackup(staging, 'full', options);
	await appendFile(join(tree.protheusData, 'system', 'sigamat.emp'), 'primeira mudança');
	at(400);
	const first = await filesBackup(staging, 'incremental', options);
	await appendFile(join(tree.protheusData, 'system', 'sigamat.emp'), 'segunda mudança');
	at(700);
	const second = await filesBackup(staging, 'incremental', options);
	jest.useRealTimers();
	// All three in one second: the names tie on time (only the type tells them apart).
	expect([full, first, second].map((s) => s.manifest.backupId.split('-')[1])).toEqual(
		Array(3).fill('20261205T100000Z'),
	);
	expect(first.manifest.parentBackupId).toBe(full.manifest.backupId);
	expect(second.manifest.parentBackupId).toBe(first.manifest.backupId);
	expect(second.manifest.baseBackupId).toBe(full.manifest.backupId);
});
