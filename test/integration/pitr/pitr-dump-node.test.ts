/**
 * TOTVS Dump's "PostgreSQL (Point in Time)" source in n8n's real engine against a real
 * PostgreSQL 15: an incremental before any base fails clearly; a base, then incrementals that
 * continue its chain (the item carries the LSN range, the slot's retained bytes, and a warning
 * above the threshold); TOTVS Restore Test to a time between two batches passes and reports the
 * last transaction reached; the slot dropped by its action, after which the chain cannot continue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { TotvsPostgres } from '../../../credentials/TotvsPostgres.credentials';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsRestore } from '../../../nodes/TotvsRestore/TotvsRestore.node';
import { TotvsRestoreTest } from '../../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { TotvsVerify } from '../../../nodes/TotvsVerify/TotvsVerify.node';
import { MANUAL_TRIGGER_TYPE, packageNodeTypes, runWorkflow } from '../../../support/n8n-engine';
import { startPitrServer, type PitrServer } from '../../../support/pitr-server';
import { createRole } from '../../../support/postgres';
import { PACKAGE_NAME } from '../../../support/n8n-engine';
import { credentialFor, DUMP_TYPE, VERIFY_TYPE } from '../../../support/totvs-workflow';

const RESTORE_TEST_TYPE = `${PACKAGE_NAME}.totvsRestoreTest`;
const RESTORE_TYPE = `${PACKAGE_NAME}.totvsRestore`;
import { scratchRoot, sleep } from './helpers';

let server: PitrServer;
let staging: string;

beforeAll(async () => {
	server = await startPitrServer();
	await createRole(server, 'backup', 'secret', { replication: true, memberOf: ['pg_read_all_data'] });
	await server.admin('CREATE DATABASE erp');
	await server.admin('CREATE TABLE t (id serial PRIMARY KEY, tag text)', 'erp');
	staging = mkdtempSync(join(tmpdir(), 'totvs-pitr-node-'));
}, 120_000);

afterAll(async () => {
	await server?.stop();
	if (staging) rmSync(staging, { recursive: true, force: true });
});

function dump(pitrAction: string, pitrOptions: INodeParameters = {}, continueOnFail = false) {
	return runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE, parameters: {} },
				{
					name: 'TOTVS Dump',
					type: DUMP_TYPE,
					parameters: { source: 'postgresPitr', environment: 'erp', stagingFolder: staging, pitrAction, pitrOptions },
					continueOnFail,
					credentials: { totvsPostgres: { id: 'pg', name: 'Protheus PostgreSQL' } },
				},
			],
			connections: { Start: { main: [[{ node: 'TOTVS Dump', type: 'main', index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump()]),
			credentialTypes: [new TotvsPostgres()],
			credentials: {
				pg: {
					type: 'totvsPostgres',
					name: 'Protheus PostgreSQL',
					data: credentialFor(server, 'erp', 'backup', 'secret'),
				},
			},
		},
	);
}

function restoreNode(type: string, name: string, parameters: INodeParameters) {
	return runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE, parameters: {} },
				{
					name,
					type,
					parameters: {
						operation: 'pointInTime',
						setSource: 'folder',
						backupsFolder: staging,
						environment: 'erp',
						...parameters,
					},
					continueOnFail: true,
				},
			],
			connections: { Start: { main: [[{ node: name, type: 'main', index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsRestoreTest(), new TotvsRestore(), new TotvsVerify()]),
			credentialTypes: [],
			credentials: {},
		},
	);
}
const restoreTest = (parameters: INodeParameters) => restoreNode(RESTORE_TEST_TYPE, 'TOTVS Restore Test', parameters);

const insert = (rows: number) =>
	server.admin("INSERT INTO t (tag) SELECT 'x' FROM generate_series(1, $1)", 'erp', [rows]);

test('base, incrementals continuing its chain, the slot reported every run and dropped on request', async () => {
	const early = await dump('incremental', {}, true);
	const failed = early.jsonOf('TOTVS Dump')[0];
	expect(failed.status).toBe('failed');
	expect((failed.error as IDataObject).message).toMatch(/No point-in-time base backup of erp in the staging folder/);

	await insert(100);
	const base = (await dump('full')).jsonOf('TOTVS Dump')[0];
	expect(base).toMatchObject({
		status: 'ok',
		engine: 'postgres-pitr',
		type: 'full',
		database: 'erp',
		serverVersion: expect.stringMatching(/^15\./),
	});
	expect((base.pitr as IDataObject).kind).toBe('base');
	expect((base.slot as IDataObject).slotName).toBe('totvs_erp');
	expect(base.summary).toMatch(/^PostgreSQL base backup erp-.*-full-db .*slot totvs_erp keeps/);

	await insert(100);
	const first = (await dump('incremental')).jsonOf('TOTVS Dump')[0];
	expect(first).toMatchObject({
		status: 'ok',
		type: 'incremental',
		parentBackupId: base.backupId,
		baseBackupId: base.backupId,
	});
	// A threshold of 0 GB: any WAL kept is above it, so the run warns (and says so in the summary).
	await insert(50);
	const second = (await dump('incremental', { slotWarnGb: 0, language: 'pt-BR' })).jsonOf('TOTVS Dump')[0];
	expect(second.parentBackupId).toBe(first.backupId);
	expect((second.slot as IDataObject).retainedBytes).toBeGreaterThan(0);
	expect((second.slot as IDataObject).warning).toMatch(/keeps .* of WAL on the database server/);
	expect(second.summary).toMatch(/^WAL .* coletado em .*slot totvs_erp retém/);

	// TOTVS Verify: the base with pg_verifybackup, a WAL set by its chain's continuity.
	for (const set of [base, second]) {
		const verified = (await restoreNode(VERIFY_TYPE, 'TOTVS Verify', { setFolder: String(set.location) })).jsonOf(
			'TOTVS Verify',
		)[0];
		const verification = verified.verification as {
			ok: boolean;
			checks: Array<{ name: string; ok: boolean; message: string }>;
		};
		expect(verification.checks.filter((c) => !c.ok)).toEqual([]);
		expect(verification.checks.map((c) => c.name)).toContain(set === base ? 'pg_verifybackup' : 'point-in-time chain');
	}

	// Restore Test to a time between two batches: the first batch is there, the second is not.
	await sleep(1500);
	const target = (await server.admin<{ t: Date }>('SELECT clock_timestamp() AS t'))[0].t;
	await sleep(1500);
	await insert(25);
	await dump('incremental');
	const scratch = scratchRoot();
	try {
		const tested = (
			await restoreTest({
				pitrTarget: 'time',
				pitrTargetTime: target.toISOString(),
				options: { scratchFolder: scratch },
			})
		).jsonOf('TOTVS Restore Test')[0];
		const report = tested.restoreTest as IDataObject;
		expect(tested.summary).toMatch(/^Restore test to .* passed: last transaction/);
		expect(report.passed).toBe(true);
		expect(new Date(String(report.reachedTransactionTime)).getTime()).toBeLessThanOrEqual(target.getTime());
		expect(report.rtoMs).toBeGreaterThan(0);
		expect(tested.status).toBe('ok');

		// TOTVS Restore (real) to the same time: a new data folder and its runbook; a folder in use is refused.
		const data = join(scratch, 'restored');
		const restored = (
			await restoreNode(RESTORE_TYPE, 'TOTVS Restore', {
				operation: 'pointInTime',
				pitrTarget: 'time',
				pitrTargetTime: target.toISOString(),
				pitrDataFolder: data,
			})
		).jsonOf('TOTVS Restore')[0];
		expect(restored.status).toBe('ok');
		const restore = restored.restore as IDataObject;
		expect(new Date(String(restore.reachedTransactionTime)).getTime()).toBeLessThanOrEqual(target.getTime());
		expect((restore.runbook as string[]).join('\n')).toMatch(/pg_ctl start -D/);
		const refused = (
			await restoreNode(RESTORE_TYPE, 'TOTVS Restore', {
				operation: 'pointInTime',
				pitrTarget: 'end',
				pitrDataFolder: server.dataDir,
			})
		).jsonOf('TOTVS Restore')[0];
		expect(refused.status).toBe('failed');
		expect((refused.error as IDataObject).message).toMatch(/a PostgreSQL cluster is running there/);
	} finally {
		rmSync(scratch, { recursive: true, force: true });
	}

	const dropped = (await dump('dropSlot')).jsonOf('TOTVS Dump')[0];
	expect(dropped).toMatchObject({ status: 'ok', slot: { slotName: 'totvs_erp', dropped: true } });
	expect(
		(await server.admin('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', 'postgres', ['totvs_erp'])).length,
	).toBe(0);
	const after = (await dump('incremental', {}, true)).jsonOf('TOTVS Dump')[0];
	expect(after.status).toBe('failed');
	expect((after.error as IDataObject).message).toMatch(/Replication slot "totvs_erp" does not exist/);
	expect((after.error as IDataObject).description).toMatch(/start a new base backup/i);
}, 300_000);
