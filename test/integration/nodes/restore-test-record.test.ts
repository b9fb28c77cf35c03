/**
 * Issue 14 item 1, wired: TOTVS Restore Test from a destination (a local folder here) leaves its
 * restore-test record beside the tested set, and TOTVS Monitor's reader finds it there with the
 * figures the item reports. A test of a local set writes none (no destination to record on); a
 * record that cannot be written (the destination's disk is full) is a warning, not a failed test.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { openDestination } from '../../../core/destinations';
import { listRestoreRecords } from '../../../core/restore-record';
import { TotvsPostgres } from '../../../credentials/TotvsPostgres.credentials';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsRestoreTest } from '../../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { createProtheusDatabase, dropDatabase } from '../../../support/fixtures/protheus-db';
import { MANUAL_TRIGGER_TYPE, PACKAGE_NAME, packageNodeTypes, runWorkflow } from '../../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../../support/shared-postgres';
import { mountSmallDisk } from '../../../support/small-disk';
import { DUMP_TYPE, credentialFor } from '../../../support/totvs-workflow';

const RESTORE_TEST_TYPE = `${PACKAGE_NAME}.totvsRestoreTest`;
// Its own environment: backup IDs (and so scratch database names) are made of it and the second.
const ENV = 'rrecord';

// Decided when tests are collected: a real full disk needs a tmpfs mount (root).
const smallDisk = mountSmallDisk(4 << 20);
const withSmallDisk = typeof smallDisk === 'string' ? it.skip : it;
const noSmallDisk = typeof smallDisk === 'string' ? ` (skipped: ${smallDisk})` : '';

const server = sharedPostgres();
let database: string;
let work: string;
let staging: string;
let offsite: string;
let dumped: IDataObject;

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-restore-record-'));
	staging = join(work, 'staging');
	offsite = join(work, 'offsite');
	mkdirSync(staging);
	database = uniqueName('restore_record');
	await createProtheusDatabase(server, { name: database, scale: 5 });
	[dumped] = await runNode(DUMP_TYPE, { environment: ENV, stagingFolder: staging }, [{}], 'pg');
	expect(dumped.status).toBe('ok');
	// A local-folder destination holds sets in the staging layout: <environment>/<backupId>/.
	cpSync(dumped.location as string, join(offsite, ENV, dumped.backupId as string), { recursive: true });
});
afterAll(async () => {
	if (typeof smallDisk !== 'string') smallDisk.unmount();
	await dropDatabase(server, database);
	rmSync(work, { recursive: true, force: true });
});

async function runNode(
	type: string,
	parameters: INodeParameters,
	input: IDataObject[] = [{}],
	credential: 'pg' | 'restore' = 'restore',
): Promise<IDataObject[]> {
	const result = await runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{ name: 'Node', type, parameters, credentials: { totvsPostgres: { id: credential, name: credential } } },
			],
			connections: { Start: { main: [[{ node: 'Node', type: 'main', index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsRestoreTest()]),
			credentialTypes: [new TotvsPostgres()],
			credentials: {
				pg: { type: 'totvsPostgres', name: 'pg', data: credentialFor(server, database) },
				restore: { type: 'totvsPostgres', name: 'restore', data: credentialFor(server, 'postgres') },
			},
			triggerItems: input,
		},
	);
	expect(result.error).toBeUndefined();
	return result.jsonOf('Node');
}

/** Restore Test of the latest set of the environment on the local-folder destination `folder`. */
const fromDestination = (folder: string) => ({
	operation: 'restoreTest',
	setSource: 'destination',
	destination: 'local',
	localFolder: folder,
	environment: ENV,
	pick: 'latest',
	stagingFolder: staging,
});

const recordFiles = (folder: string) =>
	readdirSync(join(folder, ENV)).filter((name) => name.includes('.restore-test-'));

describe('the restore-test record on the destination', () => {
	it("is written beside the tested set, and TOTVS Monitor's reader reads the item's figures back", async () => {
		const [item] = await runNode(RESTORE_TEST_TYPE, fromDestination(offsite));
		expect(item.status).toBe('ok');
		const section = item.restoreTest as IDataObject & { source: IDataObject; record: IDataObject };
		const destination = openDestination({ type: 'local', folder: offsite });
		try {
			const records = await listRestoreRecords(destination, ENV);
			expect(records).toHaveLength(1);
			const [listed] = records;
			expect(section.record).toEqual({ destination: destination.describe(), remotePath: listed.remotePath });
			expect(listed).toMatchObject({ testedId: dumped.backupId, outcome: 'passed' });
			expect(listed.invalid).toBeUndefined();
			expect(listed.record).toMatchObject({
				environment: ENV,
				testedId: dumped.backupId,
				backupIds: [dumped.backupId],
				engine: 'postgres',
				passed: true,
				fetchMs: section.source.downloadMs,
				restoreMs: section.restoreMs,
				checksMs: section.checksMs,
				rtoMs: section.rtoMs,
				restoredBytes: section.restoredBytes,
				restoreServer: { engine: 'postgres', host: server.host, port: server.port, target: section.scratchDatabase },
				sourceDestination: destination.describe(),
			});
			expect(listed.record!.checks).toHaveLength((section.checks as unknown[]).length);
			// Only the record was added: the set folder is as it was, nothing else appeared.
			expect(readdirSync(join(offsite, ENV)).sort()).toEqual([dumped.backupId, listed.fileName].sort());
		} finally {
			await destination.close();
		}
	});

	it('is not written for a set from the input item: there is no destination to record on', async () => {
		const before = recordFiles(offsite);
		const [item] = await runNode(RESTORE_TEST_TYPE, { operation: 'restoreTest', setFolder: '={{ $json.location }}' }, [
			dumped,
		]);
		expect(item).toMatchObject({ status: 'ok', restoreTest: { passed: true, record: null } });
		expect(recordFiles(offsite)).toEqual(before);
	});

	withSmallDisk(
		`that cannot be written (the destination's disk is full) is a warning in the item and the summary, not a failed test${noSmallDisk}`,
		async () => {
			const disk = (smallDisk as { path: string }).path;
			cpSync(join(offsite, ENV, dumped.backupId as string), join(disk, ENV, dumped.backupId as string), {
				recursive: true,
			});
			// Fill what is left of the tmpfs: the record's put meets the kernel's ENOSPC.
			const { bavail, bsize } = statfsSync(disk);
			writeFileSync(join(disk, 'filler'), Buffer.alloc(Number(bavail) * Number(bsize)));
			const [item] = await runNode(RESTORE_TEST_TYPE, fromDestination(disk));
			expect(item).toMatchObject({
				status: 'ok',
				backupId: dumped.backupId,
				restoreTest: { passed: true, record: null },
			});
			const warnings = (item.restoreTest as { warnings: string[] }).warnings;
			// (The other warning: the restore server here is the set's own, as in every test of this suite.)
			expect(warnings.slice(-1)).toEqual([
				expect.stringMatching(
					new RegExp(
						`^The restore-test record could not be written to file://${disk} \\(.+\\): TOTVS Monitor will not see this test\\.$`,
					),
				),
			]);
			expect(item.summary).toMatch(/PASSED: .* The restore-test record could not be written/);
			// No record there (a partial upload may stay, as after any failed put: it is no record).
			const destination = openDestination({ type: 'local', folder: disk });
			try {
				expect(await listRestoreRecords(destination, ENV)).toEqual([]);
			} finally {
				await destination.close();
			}
		},
	);
});
