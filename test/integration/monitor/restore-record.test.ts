/**
 * Restore-test records on real destinations (a local folder, OpenSSH's sshd): written
 * atomically beside the set they tested, listed newest first from one listing, read back and
 * checked against their names; and they never change how the set catalog (List, Prune) sees
 * the environment.
 */
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDestination, type Destination, type DestinationConfig } from '../../../core/destinations';
import { currentOwner } from '../../../core/locking/environment-lock';
import { listRestoreRecords, writeRestoreRecord, type RestoreRecordInput } from '../../../core/restore-record';
import { listRemoteSets } from '../../../core/upload/remote-catalog';
import { pruneSets } from '../../../core/upload/set-transfer';
import { daemonUnavailable } from '../../../support/daemons';
import { startSshd, type SshdServer } from '../../../support/sshd';
import { localRoot, sftpRoot, syntheticSet, type Root } from './targets';

const sshdMissing = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
let sshd: SshdServer | undefined;
beforeAll(async () => {
	if (!sshdMissing) sshd = await startSshd();
});
afterAll(async () => {
	await sshd?.stop();
});

const input = (testedId: string, finishedAt: Date, passed: boolean, overrides: Partial<RestoreRecordInput> = {}) => ({
	environment: 'prod',
	testedId,
	engine: 'postgres',
	passed,
	startedAt: new Date(finishedAt.getTime() - 600_000),
	finishedAt,
	fetchMs: 60_000,
	restoreMs: 400_000,
	checksMs: 20_000,
	restoredBytes: 123_456,
	checks: [{ name: 'row counts', ok: passed, expected: '3', actual: passed ? '3' : '2', message: 'sa1010' }],
	restoreServer: { engine: 'postgres', host: '127.0.0.1', port: 5432, target: 'totvs_rt_x' },
	sourceDestination: 'somewhere',
	...overrides,
});

const targets: Array<{ name: string; unavailable?: string; make: () => Root<DestinationConfig> }> = [
	{ name: 'local folder', make: localRoot },
	{ name: 'SFTP (OpenSSH sshd on loopback)', unavailable: sshdMissing, make: () => sftpRoot(sshd!) },
];

for (const target of targets) {
	const suite = target.unavailable ? describe.skip : describe;
	if (target.unavailable) console.warn(`restore records, ${target.name}: skipped: ${target.unavailable}`);

	suite(`restore-test records: ${target.name}`, () => {
		let root: Root<DestinationConfig>;
		let destination: Destination;
		let full: { backupId: string };
		beforeEach(async () => {
			root = target.make();
			// The set is written straight into the root: the layout of a finished upload.
			full = await syntheticSet(root.path, 'full', new Date('2026-11-26T02:00:00Z'));
			root.own();
			destination = openDestination(root.config);
		});
		afterEach(async () => {
			await destination.close();
			await root.cleanup();
		});

		it('writes the record beside the set, atomically, and reads it back', async () => {
			const written = await writeRestoreRecord(
				destination,
				input(full.backupId, new Date('2026-11-29T04:10:00Z'), true),
			);
			expect(written.remotePath).toMatch(
				new RegExp(`^prod/${full.backupId}\\.restore-test-20261129T041000Z-passed-[0-9a-f]{16}\\.json$`),
			);
			// Nothing else in the environment folder: no partial name left behind.
			expect(readdirSync(join(root.path, 'prod')).sort()).toEqual(
				[full.backupId, written.remotePath.slice('prod/'.length)].sort(),
			);
			const onDisk = JSON.parse(readFileSync(join(root.path, written.remotePath), 'utf8'));
			expect(onDisk).toEqual(written.record);

			const [listed] = await listRestoreRecords(destination, 'prod');
			expect(listed).toMatchObject({
				testedId: full.backupId,
				outcome: 'passed',
				finishedAt: '2026-11-29T04:10:00Z',
				signed: false,
				record: { rtoMs: 480_000, restoredBytes: 123_456, passed: true },
			});
			expect(listed.invalid).toBeUndefined();
		});

		it('does not change what List and Prune see: the set stays complete, nothing is invalid or ignored', async () => {
			const before = await listRemoteSets(destination, 'prod');
			await writeRestoreRecord(destination, input(full.backupId, new Date('2026-11-29T04:10:00Z'), false));
			const after = await listRemoteSets(destination, 'prod');
			expect(after).toEqual(before);
			expect(after.sets.map((s) => [s.backupId, s.remoteStatus])).toEqual([[full.backupId, 'complete']]);
			expect([...after.invalid, ...after.ignored, ...after.unfinished]).toEqual([]);
			const pruned = await pruneSets(destination, {
				environment: 'prod',
				dryRun: true,
				policy: {
					keepLast: 1,
					keepDaily: 0,
					keepWeekly: 0,
					keepMonthly: 0,
					keepYearly: 0,
					minimumAgeDays: 0,
					unfinishedAfterHours: 24,
				},
				lock: { owner: currentOwner('record-test'), options: { waitMs: 0 } },
			});
			expect(pruned.plan.sets.map((s) => [s.backupId, s.action])).toEqual([[full.backupId, 'keep']]);
			expect(pruned.plan.unfinished).toEqual([]);
		});

		it('lists newest first from one listing, reading only the newest asked for', async () => {
			for (const [day, passed] of [
				[27, true],
				[28, false],
				[29, true],
			] as const)
				await writeRestoreRecord(destination, input(full.backupId, new Date(`2026-11-${day}T04:00:00Z`), passed));
			let reads = 0;
			let lists = 0;
			const counting = new Proxy(destination, {
				get(object, property, receiver) {
					const value = Reflect.get(object, property, receiver);
					if (property === 'readSmallFile') return (...args: [string, number?]) => (reads++, value.apply(object, args));
					if (property === 'list') return (...args: [string]) => (lists++, value.apply(object, args));
					return typeof value === 'function' ? value.bind(object) : value;
				},
			});
			const listed = await listRestoreRecords(counting, 'prod', { read: 2 });
			expect(listed.map((r) => [r.finishedAt.slice(0, 10), r.outcome, r.record !== undefined])).toEqual([
				['2026-11-29', 'passed', true],
				['2026-11-28', 'failed', true],
				['2026-11-27', 'passed', false],
			]);
			expect({ lists, reads }).toEqual({ lists: 1, reads: 2 });
		});

		it('a record renamed or edited by hand is reported invalid, not trusted, not thrown', async () => {
			const failed = await writeRestoreRecord(
				destination,
				input(full.backupId, new Date('2026-11-29T04:00:00Z'), false),
			);
			// Renamed to look passed: the content still says failed.
			const forgedName = failed.remotePath.replace('-failed-', '-passed-');
			renameSync(join(root.path, failed.remotePath), join(root.path, forgedName));
			const garbled = await writeRestoreRecord(
				destination,
				input(full.backupId, new Date('2026-11-28T04:00:00Z'), true),
			);
			writeFileSync(join(root.path, garbled.remotePath), '{"format": 1, "kind": "totvs-restore-test"');
			const listed = await listRestoreRecords(destination, 'prod');
			expect(
				listed.map((r) => [r.outcome, r.record, r.invalid?.replace(/^Restore-test record \S+ is invalid: /, '')]),
			).toEqual([
				[
					'passed',
					undefined,
					expect.stringMatching(
						/^its content \(prod-\S+, failed at 2026-11-29T04:00:00.000Z\) does not match its file name$/,
					),
				],
				['passed', undefined, expect.stringMatching(/^not valid JSON/)],
			]);
		});

		it('the signing hook stores a detached signature after the record, and the listing says so', async () => {
			const signed: Buffer[] = [];
			const written = await writeRestoreRecord(
				destination,
				input(full.backupId, new Date('2026-11-29T04:00:00Z'), true),
				{
					sign: async (bytes) => {
						signed.push(bytes);
						return JSON.stringify({ format: 'test-signature', bytes: bytes.length });
					},
				},
			);
			expect(written.signaturePath).toBe(`${written.remotePath}.sig`);
			expect(signed[0].toString('utf8')).toBe(readFileSync(join(root.path, written.remotePath), 'utf8'));
			expect(JSON.parse(readFileSync(join(root.path, written.signaturePath!), 'utf8'))).toEqual({
				format: 'test-signature',
				bytes: signed[0].length,
			});
			const listed = await listRestoreRecords(destination, 'prod');
			expect(listed).toHaveLength(1);
			expect(listed[0].signed).toBe(true);
		});
	});
}
