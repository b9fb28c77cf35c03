/**
 * Issue 11 item 10 for TOTVS Restore Test and TOTVS Restore: with Continue On Fail, a failed item
 * carries the fields of a success of the same node and operation — the set's fields and the
 * node's section (`restoreTest` / `restore`, with `passed: false` and the checks that say why) —
 * also when the copy downloaded from a destination does not verify. Each case runs the node in
 * n8n's real engine twice, once succeeding and once failing, and compares the two items' fields.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { TotvsPostgres } from '../../../credentials/TotvsPostgres.credentials';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsRestore } from '../../../nodes/TotvsRestore/TotvsRestore.node';
import { TotvsRestoreTest } from '../../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { createProtheusDatabase, dropDatabase } from '../../../support/fixtures/protheus-db';
import { MANUAL_TRIGGER_TYPE, PACKAGE_NAME, packageNodeTypes, runWorkflow } from '../../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../../support/shared-postgres';
import { DUMP_TYPE, credentialFor } from '../../../support/totvs-workflow';

/** Real recovery: the node and operation that run it. */
const RESTORE = { type: `${PACKAGE_NAME}.totvsRestore`, operation: 'database' };
const RESTORE_TEST = { type: `${PACKAGE_NAME}.totvsRestoreTest`, operation: 'restoreTest' };
// Its own environment: backup IDs (and so scratch database names) are made of it and the second.
const ENV = 'rfail';

const server = sharedPostgres();
let database: string;
let work: string;
let offsite: string;
let dumped: IDataObject;

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-restore-failed-'));
	offsite = join(work, 'offsite');
	mkdirSync(join(work, 'staging'));
	mkdirSync(join(offsite, ENV), { recursive: true });
	database = uniqueName('restore_failed');
	await createProtheusDatabase(server, { name: database, scale: 5 });
	[dumped] = await runNode(DUMP_TYPE, { environment: ENV, stagingFolder: join(work, 'staging') }, [{}], 'pg');
	expect(dumped.status).toBe('ok');
	// A local-folder destination holds sets in the staging layout: <environment>/<backupId>/.
	cpSync(dumped.location as string, join(offsite, ENV, dumped.backupId as string), { recursive: true });
});
afterAll(async () => {
	await dropDatabase(server, database);
	rmSync(work, { recursive: true, force: true });
});

/** Runs one node after the Manual Trigger, with Continue On Fail; returns its items. */
async function runNode(
	type: string,
	parameters: INodeParameters,
	input: IDataObject[] = [{}],
	credential: 'pg' | 'restore' | 'wrongPassword' = 'restore',
): Promise<IDataObject[]> {
	const result = await runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{
					name: 'Node',
					type,
					parameters,
					continueOnFail: true,
					credentials: { totvsPostgres: { id: credential, name: credential } },
				},
			],
			connections: { Start: { main: [[{ node: 'Node', type: 'main', index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsRestoreTest(), new TotvsRestore()]),
			credentialTypes: [new TotvsPostgres()],
			credentials: {
				pg: { type: 'totvsPostgres', name: 'pg', data: credentialFor(server, database) },
				restore: { type: 'totvsPostgres', name: 'restore', data: credentialFor(server, 'postgres') },
				wrongPassword: {
					type: 'totvsPostgres',
					name: 'wrongPassword',
					data: { ...credentialFor(server, 'postgres'), password: 'wrong-password' },
				},
			},
			triggerItems: input,
		},
	);
	expect(result.error).toBeUndefined();
	return result.jsonOf('Node');
}

/** Every field of the success is in the failure and is not undefined, `section`'s fields too. */
function expectFieldsOf(success: IDataObject, failed: IDataObject, section: string) {
	expect(success.status).toBe('ok');
	expect(failed.status).toBe('failed');
	const missing = (ok: IDataObject, bad: IDataObject | undefined, prefix = '') =>
		Object.keys(ok)
			.filter((key) => bad?.[key] === undefined)
			.map((key) => `${prefix}${key}`);
	expect([
		...missing(success, failed),
		...missing(success[section] as IDataObject, failed[section] as IDataObject | undefined, `${section}.`),
	]).toEqual([]);
	const report = failed[section] as { passed: boolean; checks: Array<{ ok: boolean; message: string }> };
	expect(report.passed).toBe(false);
	// The checks say what failed.
	expect(report.checks.filter((c) => !c.ok).length).toBeGreaterThan(0);
}

describe('TOTVS Restore Test: a failed item has the fields of a success', () => {
	it('from the input item: a set folder that is gone', async () => {
		const params = { operation: RESTORE_TEST.operation, setFolder: '={{ $json.location }}' };
		const [ok] = await runNode(RESTORE_TEST.type, params, [dumped]);
		const [failed] = await runNode(RESTORE_TEST.type, params, [{ ...dumped, location: join(work, 'no-such-set') }]);
		expectFieldsOf(ok, failed, 'restoreTest');
		expect(failed).toMatchObject({ backupId: dumped.backupId, environment: ENV });
	});

	it('from a backups folder: a restore server that refuses the login', async () => {
		const params = {
			operation: RESTORE_TEST.operation,
			setSource: 'folder',
			backupsFolder: join(work, 'staging'),
			environment: ENV,
			pick: 'latest',
		};
		const [ok] = await runNode(RESTORE_TEST.type, params);
		const [failed] = await runNode(RESTORE_TEST.type, params, [{}], 'wrongPassword');
		expectFieldsOf(ok, failed, 'restoreTest');
		expect(failed).toMatchObject({ backupId: dumped.backupId, environment: ENV });
		expect((failed.error as IDataObject).message).toMatch(/password/);
	});

	it('from a destination: a copy that does not verify', async () => {
		const params = {
			operation: RESTORE_TEST.operation,
			setSource: 'destination',
			destination: 'local',
			localFolder: offsite,
			environment: ENV,
			pick: 'backupId',
			backupId: dumped.backupId as string,
			stagingFolder: join(work, 'staging'),
		};
		const [ok] = await runNode(RESTORE_TEST.type, params);
		const artifact = (dumped.artifacts as Array<{ path: string }>)[0].path;
		const file = join(offsite, ENV, dumped.backupId as string, artifact);
		const original = readFileSync(file);
		const damaged = Buffer.from(original);
		damaged[Math.floor(damaged.length / 2)] ^= 0xff;
		writeFileSync(file, damaged);
		try {
			const [failed] = await runNode(RESTORE_TEST.type, params);
			expectFieldsOf(ok, failed, 'restoreTest');
			expect(failed).toMatchObject({ backupId: dumped.backupId, environment: ENV });
			const checks = (failed.restoreTest as { checks: Array<{ name: string; ok: boolean; message: string }> }).checks;
			expect(checks.find((c) => !c.ok)?.message).toMatch(/failed verification, nothing was restored/);
		} finally {
			writeFileSync(file, original);
		}
	});
});

describe('TOTVS Restore: a failed item has the fields of a success', () => {
	it('Restore Database: a target that exists already', async () => {
		const target = uniqueName('restore_failed_target');
		try {
			const params = { operation: RESTORE.operation, setFolder: '={{ $json.location }}', targetDatabase: target };
			const [ok] = await runNode(RESTORE.type, params, [dumped]);
			const [failed] = await runNode(RESTORE.type, params, [dumped]);
			expectFieldsOf(ok, failed, 'restore');
			expect(failed).toMatchObject({ backupId: dumped.backupId, environment: ENV });
			expect((failed.error as IDataObject).message).toMatch(/already exists/);
		} finally {
			await server.admin(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
		}
	});
});
