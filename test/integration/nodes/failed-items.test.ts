/**
 * Issue 11 item 10: with Continue On Fail, a failed item carries the same fields as a success of
 * the same node and operation (the backup-set fields and the node's own section, with
 * ok / verified false), so an IF or a Slack expression after it never reads undefined.
 *
 * Each case runs the node in n8n's real engine twice, once succeeding and once failing, and
 * compares the two items' fields. Failing items start from the trigger's empty item, the worst
 * case: nothing of the set comes from an earlier node.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { TotvsPostgres } from '../../../credentials/TotvsPostgres.credentials';
import { TotvsSqlServer } from '../../../credentials/TotvsSqlServer.credentials';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsUpload } from '../../../nodes/TotvsUpload/TotvsUpload.node';
import { TotvsVerify } from '../../../nodes/TotvsVerify/TotvsVerify.node';
import { createProtheusDatabase, dropDatabase } from '../../../support/fixtures/protheus-db';
import { createProtheusTree, type ProtheusTree } from '../../../support/fixtures/protheus-tree';
import { MANUAL_TRIGGER_TYPE, packageNodeTypes, runWorkflow } from '../../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../../support/shared-postgres';
import { DUMP_TYPE, UPLOAD_TYPE, VERIFY_TYPE, credentialFor } from '../../../support/totvs-workflow';

const server = sharedPostgres();
let database: string;
let work: string;
let staging: string;
let offsite: string;
let tree: ProtheusTree;

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-failed-items-'));
	staging = join(work, 'staging');
	offsite = join(work, 'offsite');
	mkdirSync(staging);
	mkdirSync(offsite);
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 20, rpoBytes: 64 << 10, tables: 2 });
	database = uniqueName('failed_items');
	await createProtheusDatabase(server, { name: database, scale: 5 });
});
afterAll(async () => {
	await dropDatabase(server, database);
	rmSync(work, { recursive: true, force: true });
});

const TYPES = { dump: DUMP_TYPE, verify: VERIFY_TYPE, upload: UPLOAD_TYPE };

/** Runs one node after the Manual Trigger, with Continue On Fail; returns its items. */
async function runNode(
	node: keyof typeof TYPES,
	parameters: INodeParameters,
	input: IDataObject[] = [{}],
	postgresPassword?: string,
): Promise<IDataObject[]> {
	const pg = credentialFor(server, database);
	const result = await runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{
					name: 'Node',
					type: TYPES[node],
					parameters,
					continueOnFail: true,
					credentials: {
						totvsPostgres: { id: 'pg', name: 'PostgreSQL' },
						totvsSqlServer: { id: 'mssql', name: 'SQL Server' },
					},
				},
			],
			connections: { Start: { main: [[{ node: 'Node', type: 'main', index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsVerify(), new TotvsUpload()]),
			credentialTypes: [new TotvsPostgres(), new TotvsSqlServer()],
			credentials: {
				pg: { type: 'totvsPostgres', name: 'PostgreSQL', data: { ...pg, password: postgresPassword ?? pg.password } },
				// Nothing listens on port 1: the connection is refused at once.
				mssql: {
					type: 'totvsSqlServer',
					name: 'SQL Server',
					data: { server: '127.0.0.1', port: 1, user: 'sa', password: 'x', encrypt: false, connectTimeout: 3 },
				},
			},
			triggerItems: input,
		},
	);
	expect(result.error).toBeUndefined();
	return result.jsonOf('Node');
}

/**
 * Every field of the success is in the failure and is not undefined; `sections` (the node's own
 * objects, or arrays of them) are compared one level down too.
 */
function expectFieldsOf(success: IDataObject, failed: IDataObject, sections: string[] = []) {
	expect(success.status).toBe('ok');
	expect(failed.status).toBe('failed');
	const missing = (ok: IDataObject, bad: IDataObject | undefined, prefix = '') =>
		Object.keys(ok)
			.filter((key) => bad?.[key] === undefined)
			.map((key) => `${prefix}${key}`);
	const last = (value: unknown) => (Array.isArray(value) ? value[value.length - 1] : value) as IDataObject | undefined;
	expect([
		...missing(success, failed),
		...sections.flatMap((s) => missing(last(success[s]) ?? {}, last(failed[s]), `${s}.`)),
	]).toEqual([]);
}

const setFields = ['backupId', 'environment', 'component', 'engine', 'type', 'location', 'artifacts'];

/** A failed item whose input held nothing of a set still has the set's fields (null when unknown). */
function expectSetFields(failed: IDataObject, more: string[] = []) {
	expect(failed.status).toBe('failed');
	expect([...setFields, ...more].filter((field) => failed[field] === undefined)).toEqual([]);
}

describe('a failed item has the fields of a success', () => {
	let filesSet: IDataObject;

	it('TOTVS Dump, Protheus files', async () => {
		const params = { source: 'protheusFiles', environment: 'p12', stagingFolder: staging };
		[filesSet] = await runNode('dump', { ...params, folders: tree.protheusData });
		const [failed] = await runNode('dump', { ...params, folders: join(work, 'no-such-folder') });
		expectFieldsOf(filesSet, failed, ['changes']);
		expect(failed).toMatchObject({ environment: 'p12', component: 'files', engine: 'protheus-files', type: 'full' });
		expect(failed.backupId).toBeNull();
	});

	it('TOTVS Dump, PostgreSQL', async () => {
		const params = { source: 'postgres', environment: 'prod', stagingFolder: staging };
		const [ok] = await runNode('dump', params);
		const [failed] = await runNode('dump', params, [{}], 'wrong-password');
		expectFieldsOf(ok, failed);
		expect(failed).toMatchObject({ environment: 'prod', component: 'database', engine: 'postgres', type: 'full' });
	});

	it('TOTVS Dump, Database + Files (restore point), the database failing', async () => {
		const params = { source: 'postgresAndFiles', environment: 'prod', stagingFolder: staging, folders: tree.apo };
		const [okDatabase] = await runNode('dump', params);
		const failed = await runNode('dump', params, [{}], 'wrong-password');
		expect(failed).toHaveLength(1);
		expectFieldsOf(okDatabase, failed[0]);
		expect(failed[0]).toMatchObject({ component: 'database', engine: 'postgres', restorePointId: null });
	});

	it('TOTVS Dump, SQL Server (no server): the fields a SQL Server set has', async () => {
		const [failed] = await runNode('dump', {
			source: 'sqlserver',
			environment: 'prod',
			sqlServerBackupType: 'log',
			sqlServerFolder: 'D:\\Backup',
			sqlServerLocalFolder: staging,
		});
		expectSetFields(failed, ['database', 'serverVersion', 'tableCount', 'rowCount']);
		expect(failed).toMatchObject({ engine: 'sqlserver', component: 'database', type: 'log' });
	});

	it('TOTVS Verify: a missing set, after Dump and alone; no folder at all', async () => {
		const [ok] = await runNode('verify', { setFolder: '={{ $json.location }}' }, [filesSet]);
		const missing = { ...filesSet, location: join(work, 'no-such-set') };
		const [afterDump] = await runNode('verify', { setFolder: '={{ $json.location }}' }, [missing]);
		const [alone] = await runNode('verify', { setFolder: join(work, 'no-such-set') });
		const [noFolder] = await runNode('verify', { setFolder: ' ' });
		expectFieldsOf(ok, afterDump, ['verification']);
		for (const failed of [alone, noFolder]) expectSetFields(failed, ['verification']);
		expect(noFolder.verification).toMatchObject({ ok: false, checks: [] });
	});

	describe('TOTVS Upload to a local folder', () => {
		const upload = (parameters: INodeParameters, input?: IDataObject[]) =>
			runNode('upload', { destination: 'local', localFolder: offsite, ...parameters }, input);

		it('Upload', async () => {
			const [ok] = await upload({ operation: 'upload', setFolder: '={{ $json.location }}' }, [filesSet]);
			const missing = { ...filesSet, location: join(work, 'no-such-set') };
			const [afterDump] = await upload({ operation: 'upload', setFolder: '={{ $json.location }}' }, [missing]);
			const [alone] = await upload({ operation: 'upload', setFolder: join(work, 'no-such-set') });
			expectFieldsOf(ok, afterDump, ['uploads']);
			expectSetFields(alone, ['uploads']);
			expect((alone.uploads as IDataObject[])[0]).toMatchObject({ verified: false });
		});

		it('List', async () => {
			const [ok] = await upload({ operation: 'list', environment: 'p12' });
			const [failed] = await upload({ operation: 'list', environment: '../outside' });
			expectFieldsOf(ok, failed);
		});

		it('Download', async () => {
			const download = { operation: 'download', environment: 'p12', stagingFolder: join(work, 'restore') };
			mkdirSync(join(work, 'restore'));
			const [ok] = await upload({ ...download, backupId: filesSet.backupId as string });
			const [failed] = await upload({ ...download, backupId: 'p12-20200101T000000Z-full-files' });
			expectFieldsOf(ok, failed, ['verification', 'download']);
			expect(failed.verification).toMatchObject({ ok: false });
		});

		it('Prune', async () => {
			const [ok] = await upload({ operation: 'prune', environment: 'p12', dryRun: true });
			const [failed] = await upload({ operation: 'prune', environment: '', dryRun: true });
			expectFieldsOf(ok, failed, ['prune']);
		});
	});
});
