/**
 * Every workflow in examples/ imported into a real n8n and executed, so the examples users
 * import never rot: node types, parameters, credentials and the notification messages'
 * expressions all run. Test copies swap only triggers and notifications (example-test-copy.ts);
 * credentials point at servers on loopback.
 *
 * A new example is picked up automatically. What it needs, if anything:
 * - credentials of a new type: a line in CREDENTIALS_FOR_TEST (TOTVS Upload's SFTP credential
 *   points at the test sshd, the restore server's PostgreSQL credential at the superuser);
 * - a new trigger or notification node type: a line in example-test-copy.ts;
 * - checks specific to it: an entry in EXPECTATIONS.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_NAME, REPO_ROOT, type N8nInstance } from '../../scripts/n8n-env';
import {
	MANUAL_TRIGGER_NAME,
	SAMPLE_WORKFLOW_ERROR,
	STAND_IN_FIELD,
	isNotification,
	testCopy,
} from './example-test-copy';
import {
	executeWorkflow,
	freshInstance,
	importCredentials,
	importWorkflow,
	nodeOutputs,
	printTimings,
	ranNodes,
	succeeded,
	type CredentialToImport,
	type Execution,
	type RawRun,
	type WorkflowJson,
} from './n8n-cli';
import {
	createProtheusSource,
	restoreServerCredential,
	startDriveDestination,
	startSftpDestination,
	type DriveDestination,
	type ProtheusSource,
	type SftpDestination,
} from './sources';

const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');
const exampleFiles = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort();
const examples = exampleFiles.map((file) => ({
	file,
	workflow: JSON.parse(readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as WorkflowJson,
}));

let instance: N8nInstance;
let source: ProtheusSource;
let sftp: SftpDestination;
let drive: DriveDestination;

/** The examples' restore server credential: it creates scratch databases, so the test gives it the superuser. */
const RESTORE_SERVER_CREDENTIAL_ID = 'TotvsPgRestore01';

interface CredentialRef {
	type: string;
	id: string;
	name: string;
}

/** Test data for each credential type the examples use (loopback servers only). */
const CREDENTIALS_FOR_TEST: Record<string, (ref: CredentialRef) => CredentialToImport> = {
	totvsPostgres: (ref) => (ref.id === RESTORE_SERVER_CREDENTIAL_ID ? restoreServerCredential(ref.id, ref.name) : source.credential(ref.id, ref.name)),
	totvsSftp: (ref) => sftp.credential(ref.id, ref.name),
	totvsGoogleDriveApi: (ref) => drive.credential(ref.id, ref.name),
};

const BAD_PASSWORD_CREDENTIAL_ID = 'E2eExamplePgBad1';

function credentialRefs(workflow: WorkflowJson): CredentialRef[] {
	return workflow.nodes.flatMap((node) =>
		Object.entries((node.credentials ?? {}) as Record<string, { id: string; name: string }>).map(([type, ref]) => ({ type, ...ref })),
	);
}

/** Same workflow with every `type` credential reference pointing at `id`. */
function withCredential(workflow: WorkflowJson, type: string, id: string): WorkflowJson {
	const copy = JSON.parse(JSON.stringify(workflow)) as WorkflowJson;
	for (const node of copy.nodes) {
		const credentials = node.credentials as Record<string, { id: string; name: string }> | undefined;
		if (credentials?.[type]) credentials[type] = { id, name: id };
	}
	return copy;
}

const ourNodes = (workflow: WorkflowJson) => workflow.nodes.filter((n) => n.type.startsWith(`${PACKAGE_NAME}.`)).map((n) => n.name);
const notifications = (example: WorkflowJson) => example.nodes.filter(isNotification).map((n) => n.name);

/** Checks every example's run must pass: a clean run and messages whose expressions all resolved. */
function expectCleanRun(execution: Execution, example: WorkflowJson): RawRun {
	const run = succeeded(execution);
	const failedNodes = Object.entries(run.data.resultData.runData)
		.filter(([, runs]) => runs.some((r) => r.error))
		.map(([name, runs]) => `${name}: ${runs.find((r) => r.error)?.error?.message}`);
	expect(failedNodes).toEqual([]);
	for (const name of ourNodes(example)) expect(ranNodes(run)).toContain(name);

	const sent = notifications(example).filter((name) => ranNodes(run).includes(name));
	expect(sent.length).toBeGreaterThan(0);
	for (const name of sent) {
		for (const message of nodeOutputs(run, name)[0] ?? []) {
			expect(message[STAND_IN_FIELD]).toEqual(example.nodes.find((n) => n.name === name)?.type);
			for (const [field, value] of Object.entries(message)) {
				if (field === STAND_IN_FIELD) continue;
				// An expression that read a missing field shows as "undefined", "null" or "[object Object]".
				expect({ node: name, field, value }).toEqual({ node: name, field, value: expect.not.stringMatching(/undefined|\bnull\b|\[object Object\]|^\s*$/) });
			}
		}
	}
	return run;
}

/** Checks specific to one example, after expectCleanRun. */
const lastRuns: Record<string, RawRun> = {};

const EXPECTATIONS: Record<string, (run: RawRun) => void> = {
	'nightly-postgres-backup.json': (run) => {
		const [verified] = nodeOutputs(run, 'TOTVS Verify');
		expect(verified).toHaveLength(1);
		expect(verified[0]).toMatchObject({ status: 'ok', environment: 'prod', database: source.database, verification: { ok: true } });
		expect(ranNodes(run)).not.toContain('Slack: backup FAILED');
		const [messages] = nodeOutputs(run, 'Slack: backup OK');
		expect(messages).toHaveLength(1);
		expect(messages[0].text).toContain(`TOTVS backup *${verified[0].backupId as string}* OK: ${verified[0].tableCount as number} tables`);
		expect(messages[0].text).toContain(verified[0].location as string);
		expect(messages[0].text).toContain(verified[0].summary as string);
		// The set went to the SFTP server, byte for byte, and the retention policy ran (in Dry Run).
		const backupId = verified[0].backupId as string;
		const [[pruned]] = nodeOutputs(run, 'Prune old sets');
		const upload = { destination: `sftp://${sftp.sshd.user.name}@127.0.0.1:${sftp.sshd.port}`, remotePath: `prod/${backupId}` };
		const toDrive = { destination: expect.stringContaining(`gdrive://backup@totvs-e2e.iam.gserviceaccount.com/${drive.drive.rootFolderId}`), remotePath: `prod/${backupId}`, bytes: verified[0].totalBytes, verified: true };
		expect(pruned).toMatchObject({ status: 'ok', backupId, uploads: [{ ...upload, bytes: verified[0].totalBytes, verified: true }, toDrive] });
		expect(pruned.prune).toMatchObject({ environment: 'prod', dryRun: true, deleteCount: 0 });
		expect(readFileSync(path.join(sftp.sshd.user.home, 'prod', backupId, 'manifest.json'), 'utf8')).toContain(backupId);
		const uploads = pruned.uploads as Array<{ destination: string; remotePath: string }>;
		expect(messages[0].text).toContain(`Off-site: ${uploads.map((u) => `${u.destination}/${u.remotePath}`).join(', ')}`);
		expect(messages[0].text).toContain(`Retention: ${pruned.summary as string}`);
	},
	// Runs after the nightly example (files in name order), so the SFTP server holds its set.
	'weekly-restore-test.json': (run) => {
		const [tested] = nodeOutputs(run, 'TOTVS Restore Test');
		expect(tested).toHaveLength(1);
		const item = tested[0] as { backupId: string; status: string; restoreTest: { passed: boolean; checks: Array<{ ok: boolean }>; source: { remotePath: string } } };
		expect(item).toMatchObject({ status: 'ok', environment: 'prod', database: source.database, restoreTest: { passed: true } });
		expect(item.restoreTest.checks.filter((c) => !c.ok)).toEqual([]);
		expect(item.restoreTest.source.remotePath).toBe(`prod/${item.backupId}`);
		const [nightly] = nodeOutputs(lastRuns['nightly-postgres-backup.json'], 'TOTVS Verify');
		expect(item.backupId).toBe(nightly[0].backupId);
		expect(ranNodes(run)).not.toContain('Slack: restore test FAILED');
		const [emails] = nodeOutputs(run, 'Email: restore test report');
		expect(emails).toHaveLength(1);
		expect(emails[0]).toMatchObject({ toEmail: 'dba-team@example.com', subject: `[TOTVS] Restore test passed: ${item.backupId}` });
		expect(emails[0].text).toContain(`${item.restoreTest.checks.length} checks passed`);
		expect(emails[0].html).toContain(`<b>${item.backupId}</b>`);
	},
	'error-alert.json': (run) => {
		const { workflow, execution } = SAMPLE_WORKFLOW_ERROR;
		const [slack] = nodeOutputs(run, 'Slack: workflow error');
		expect(slack).toHaveLength(1);
		expect(slack[0].text).toContain(`*${workflow.name}* stopped with an error in node ${execution.lastNodeExecuted}: ${execution.error.message}`);
		expect(slack[0].text).toContain(execution.url);
		const [email] = nodeOutputs(run, 'Email: workflow error');
		expect(email).toHaveLength(1);
		expect(email[0].subject).toBe(`[n8n] Backup workflow "${workflow.name}" failed`);
		expect(email[0].text).toContain(`Error: ${execution.error.message}`);
	},
};

beforeAll(async () => {
	[instance, source, sftp, drive] = await Promise.all([freshInstance('examples'), createProtheusSource('e2e_ex'), startSftpDestination(), startDriveDestination()]);
	const refs = new Map(examples.flatMap(({ workflow }) => credentialRefs(testCopy(workflow))).map((ref) => [ref.id, ref]));
	const missing = [...refs.values()].filter((ref) => !CREDENTIALS_FOR_TEST[ref.type]).map((ref) => ref.type);
	if (missing.length) throw new Error(`No test credential for ${missing.join(', ')}: add it to CREDENTIALS_FOR_TEST.`);
	await importCredentials(instance, [
		...[...refs.values()].map((ref) => CREDENTIALS_FOR_TEST[ref.type](ref)),
		source.credential(BAD_PASSWORD_CREDENTIAL_ID, BAD_PASSWORD_CREDENTIAL_ID, { password: 'wrong-password-for-e2e' }),
	]);
});

afterAll(async () => {
	printTimings('examples.e2e.ts');
	await sftp?.stop();
	await drive?.stop();
	await source?.drop();
	if (instance) rmSync(instance.userFolder, { recursive: true, force: true });
});

describe('examples/ in a real n8n', () => {
	it('has examples, each with sticky notes that explain it', () => {
		expect(exampleFiles).toEqual(expect.arrayContaining(['nightly-postgres-backup.json', 'error-alert.json', 'weekly-restore-test.json']));
		for (const { file, workflow } of examples) {
			const notes = workflow.nodes.filter((n) => n.type === 'n8n-nodes-base.stickyNote');
			expect({ file, explained: notes.some((n) => String(n.parameters?.content ?? '').length > 100) }).toEqual({ file, explained: true });
			// Node names are unique (connections refer to nodes by name) and ids are stable.
			expect(new Set(workflow.nodes.map((n) => n.name)).size).toBe(workflow.nodes.length);
			expect(workflow.id).toMatch(/^[A-Za-z0-9]{16}$/);
		}
	});

	it.each(exampleFiles)('%s imports and runs', async (file) => {
		const example = examples.find((e) => e.file === file)!.workflow;
		const copy = testCopy(example);
		expect(copy.nodes.some((n) => n.name === MANUAL_TRIGGER_NAME) || copy.nodes.some((n) => n.type === 'n8n-nodes-base.manualTrigger')).toBe(true);
		await importWorkflow(instance, copy);
		const run = expectCleanRun(await executeWorkflow(instance, copy), example);
		lastRuns[file] = run;
		EXPECTATIONS[file]?.(run);
	});

	it('nightly example: a wrong database password sends the failure message, not the success one', async () => {
		const example = examples.find((e) => e.file === 'nightly-postgres-backup.json')!.workflow;
		const copy = testCopy(withCredential(example, 'totvsPostgres', BAD_PASSWORD_CREDENTIAL_ID), {
			id: 'E2eNightlyBadPwd',
			name: 'nightly example with a wrong password (e2e)',
		});
		await importWorkflow(instance, copy);
		const run = expectCleanRun(await executeWorkflow(instance, copy), example);
		const [dumped] = nodeOutputs(run, 'TOTVS Dump');
		expect(dumped).toHaveLength(1);
		expect(dumped[0].status).toBe('failed');
		expect(ranNodes(run)).not.toContain('Slack: backup OK');
		const [messages] = nodeOutputs(run, 'Slack: backup FAILED');
		expect(messages).toHaveLength(1);
		const error = dumped[0].error as { message: string; description: string };
		expect(messages[0].text).toContain(`*What failed:* ${error.message}`);
		expect(messages[0].text).toContain(`*What to do:* ${error.description}`);
		expect(error.message).toContain(`refused user "${source.user}"`);
	});
});
