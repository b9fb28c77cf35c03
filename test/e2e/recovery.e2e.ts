/**
 * Recovery in a real n8n 2.x (issue 13), driven by n8n's CLI:
 * 1. One execution: Manual Trigger -> TOTVS Dump (Database + Files: a restore point) -> TOTVS
 *    Upload (SFTP) -> TOTVS Restore Test (Test Restore Point, the latest from SFTP) -> TOTVS
 *    Restore (Restore Files into a non-empty folder with Replace). The restore point passes every
 *    check; the tree is swapped in and the old one kept aside under the name the output gives.
 * 2. examples/restore-drill.json imports and runs (its test copy: the Schedule Trigger and the
 *    e-mails stand-ins, see example-test-copy.ts) against that SFTP copy: the report e-mail
 *    carries the measured RTO; it is safe to import (failures end in Stop and Error).
 * Kept to two executions: each n8n CLI call is a whole n8n start.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { daemonUnavailable } from '../../support/daemons';
import { createProtheusTree, type ProtheusTree } from '../../support/fixtures/protheus-tree';
import { REPO_ROOT } from '../../support/n8n-env';
import type { N8nInstance } from '../../support/n8n-env';
import { expectCleanRun, MANUAL_TRIGGER_NAME, safetyProblems, STAND_IN_FIELD, testCopy } from './example-test-copy';
import {
	executeWorkflow,
	freshInstance,
	importCredentials,
	importWorkflow,
	nodeOutputs,
	printTimings,
	succeeded,
	type WorkflowJson,
} from './n8n-cli';
import { DUMP_TYPE, RESTORE_TEST_TYPE, UPLOAD_TYPE } from './node-types';
import {
	createProtheusSource,
	restoreServerCredential,
	startSftpDestination,
	type ProtheusSource,
	type SftpDestination,
} from './sources';

const unavailable = daemonUnavailable('/usr/sbin/sshd', 'openssh-server');
const suite = unavailable ? describe.skip : describe;
if (unavailable) console.warn(`e2e recovery: skipped: ${unavailable}`);

const RESTORE_TYPE = DUMP_TYPE.replace('totvsDump', 'totvsRestore');
// The drill example restores "prod" from the credentials it names: the test imports those ids.
const ENV = 'prod';
const SOURCE_CREDENTIAL = 'E2eRecovSource01';
const RESTORE_CREDENTIAL = 'TotvsPgRestore01';
const SFTP_CREDENTIAL = 'TotvsSftpExamp01';
const NAMES = ['Start', 'TOTVS Dump', 'Upload to SFTP', 'TOTVS Restore Test', 'TOTVS Restore'];
const DRILL = JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples', 'restore-drill.json'), 'utf8')) as WorkflowJson;

let instance: N8nInstance;
let source: ProtheusSource;
let sftp: SftpDestination;
let work: string;
let tree: ProtheusTree;
let staging: string;
let live: string;

function recoveryWorkflow(): WorkflowJson {
	const credentials = {
		totvsPostgres: { id: RESTORE_CREDENTIAL, name: 'Restore server' },
		totvsSftp: { id: SFTP_CREDENTIAL, name: 'Offsite SFTP' },
	};
	return {
		id: 'E2eRecoveryRp001',
		name: 'e2e restore point dump upload restore-test restore-files',
		active: false,
		nodes: [
			{ name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} },
			{
				name: 'TOTVS Dump',
				type: DUMP_TYPE,
				parameters: {
					source: 'postgresAndFiles',
					environment: ENV,
					stagingFolder: staging,
					filesBackupType: 'full',
					appserverIni: tree.appserverIni,
					options: {},
					filesOptions: {},
				},
				credentials: { totvsPostgres: { id: SOURCE_CREDENTIAL, name: 'Protheus PostgreSQL' } },
			},
			{
				name: 'Upload to SFTP',
				type: UPLOAD_TYPE,
				parameters: { destination: 'sftp', operation: 'upload', options: {} },
				credentials: { totvsSftp: credentials.totvsSftp },
			},
			{
				name: 'TOTVS Restore Test',
				type: RESTORE_TEST_TYPE,
				// Dump emits the database item and the files item: one test of their restore point.
				executeOnce: true,
				parameters: {
					operation: 'restorePoint',
					restoreServer: 'postgres',
					setSource: 'destination',
					destination: 'sftp',
					environment: ENV,
					pick: 'latest',
					stagingFolder: staging,
					options: { htmlReport: true, freshnessDays: 0 },
				},
				credentials,
			},
			{
				name: 'TOTVS Restore',
				type: RESTORE_TYPE,
				executeOnce: true,
				parameters: {
					operation: 'files',
					setSource: 'folder',
					backupsFolder: staging,
					environment: ENV,
					pick: 'latest',
					targetFolder: live,
					replaceTarget: true,
					options: {},
				},
			},
		].map((node, i) => ({ id: `e2e-recovery-${i}`, typeVersion: 1, position: [i * 220, 0], ...node })),
		connections: Object.fromEntries(
			NAMES.slice(0, -1).map((name, i) => [name, { main: [[{ node: NAMES[i + 1], type: 'main', index: 0 }]] }]),
		),
		settings: { executionOrder: 'v1' },
	};
}

beforeAll(async () => {
	if (unavailable) return;
	work = mkdtempSync(path.join(os.tmpdir(), 'totvs-e2e-recovery-'));
	staging = path.join(work, 'staging');
	mkdirSync(staging);
	live = path.join(work, 'live', 'totvs');
	mkdirSync(live, { recursive: true });
	writeFileSync(path.join(live, 'old-appserver.ini'), '[old tree]\n');
	[instance, source, sftp, tree] = await Promise.all([
		freshInstance('recovery'),
		createProtheusSource('e2e_rc', 50),
		startSftpDestination(),
		createProtheusTree(path.join(work, 'protheus'), { smallFiles: 40, rpoBytes: 256 << 10, tables: 2 }),
	]);
	await importCredentials(instance, [
		source.credential(SOURCE_CREDENTIAL, 'Protheus PostgreSQL'),
		restoreServerCredential(RESTORE_CREDENTIAL, 'Restore server'),
		sftp.credential(SFTP_CREDENTIAL, 'Offsite SFTP'),
	]);
});

afterAll(async () => {
	if (unavailable) return;
	printTimings('recovery.e2e.ts');
	await sftp?.stop();
	await source?.drop();
	if (instance) rmSync(instance.userFolder, { recursive: true, force: true });
	if (work) rmSync(work, { recursive: true, force: true });
});

suite('Recovery in a real n8n', () => {
	let restorePointId: string;

	it('Dump (Database + Files) -> Upload (SFTP) -> Restore Test (restore point, from SFTP) passes every check; Restore Files with Replace swaps in and keeps the old tree aside', async () => {
		const workflow = recoveryWorkflow();
		await importWorkflow(instance, workflow);
		const run = succeeded(await executeWorkflow(instance, workflow));

		const [dumped] = nodeOutputs(run, 'TOTVS Dump');
		expect(dumped.map((item) => [item.component, item.status])).toEqual([
			['database', 'ok'],
			['files', 'ok'],
		]);
		restorePointId = dumped[0].restorePointId as string;
		expect(dumped[1].restorePointId).toBe(restorePointId);
		expect(nodeOutputs(run, 'Upload to SFTP')[0].map((item) => item.status)).toEqual(['ok', 'ok']);

		const [[tested]] = nodeOutputs(run, 'TOTVS Restore Test');
		expect(tested).toMatchObject({ status: 'ok', restorePointId, environment: ENV });
		const test = tested.restoreTest as {
			passed: boolean;
			rtoMs: number;
			checks: Array<{ name: string; ok: boolean; notRun?: boolean }>;
			source: { destination: string; chain: string[] };
		};
		expect(test.checks.filter((c) => !c.ok && !c.notRun)).toEqual([]);
		expect(test.passed).toBe(true);
		expect(test.checks.map((c) => c.name)).toEqual(
			expect.arrayContaining(['restore point', 'both restored', 'order', 'database: row-counts', 'files: tree']),
		);
		expect(test.source.destination).toBe(`sftp://${sftp.sshd.user.name}@127.0.0.1:${sftp.sshd.port}`);
		expect(test.source.chain).toEqual([dumped[0].backupId, dumped[1].backupId]);
		expect(test.rtoMs).toBeGreaterThan(0);
		expect(tested.summary).toMatch(/Measured RTO: /);
		// The downloads were removed: the staging folder holds Dump's two sets only.
		expect(readdirSync(path.join(staging, ENV)).sort()).toEqual([dumped[0].backupId, dumped[1].backupId].sort());

		const [[restored]] = nodeOutputs(run, 'TOTVS Restore');
		const restore = restored.restore as { passed: boolean; replaced: boolean; oldTree: string; durationMs: number };
		expect(restore).toMatchObject({ passed: true, replaced: true });
		expect(restore.durationMs).toEqual(expect.any(Number));
		expect(readFileSync(path.join(restore.oldTree, 'old-appserver.ini'), 'utf8')).toBe('[old tree]\n');
		expect(path.dirname(restore.oldTree)).toBe(path.dirname(live));
		expect(existsSync(path.join(live, 'old-appserver.ini'))).toBe(false);
		expect(existsSync(path.join(live, 'protheus_data'))).toBe(true);
	});

	it('examples/restore-drill.json is safe to import, imports and runs: the report e-mail carries the RTO', async () => {
		expect(safetyProblems(DRILL)).toEqual([]);
		const copy = testCopy(DRILL);
		expect(copy.nodes.some((n) => n.name === MANUAL_TRIGGER_NAME)).toBe(true);
		await importWorkflow(instance, copy);
		const run = expectCleanRun(await executeWorkflow(instance, copy), DRILL, copy);
		const [[tested]] = nodeOutputs(run, 'TOTVS Restore Test');
		expect(tested).toMatchObject({ status: 'ok', restorePointId });
		const [[mail]] = nodeOutputs(run, 'Email: drill report');
		expect(mail[STAND_IN_FIELD]).toBe('n8n-nodes-base.emailSend');
		expect(mail.subject).toMatch(new RegExp(`Restore drill passed: ${restorePointId}, RTO \\d+ min`));
		expect(mail.text).toMatch(/Measured RTO: \d+ s/);
	});
});
