/**
 * Every workflow in examples/ imported into a real n8n and executed, so the examples users
 * import never rot: node types, parameters, credentials and the notification messages'
 * expressions all run. Test copies swap only triggers and notifications (example-test-copy.ts);
 * credentials point at servers on loopback, paths under /totvs/protheus at a generated Protheus
 * tree.
 *
 * Every example is also checked for what makes it safe to import as is (no n8n needed): a node
 * that writes the staging folder is followed by a Prune of that folder that really deletes; every
 * failure branch of a workflow that makes or tests backups ends, after its alert, in Stop and
 * Error (the TOTVS nodes run with On Error → Continue, so n8n would otherwise list a failed
 * backup as "Succeeded" and never call the error workflow); a sticky note states the RPO and the
 * retention, and one explains Dry Run where a Prune is used.
 *
 * A new example is picked up automatically. What it needs, if anything:
 * - credentials of a new type: a line in CREDENTIALS_FOR_TEST (TOTVS Upload's SFTP credential
 *   points at the test sshd, the restore server's PostgreSQL credential at the superuser);
 * - a new trigger or notification node type: a line in example-test-copy.ts;
 * - checks specific to it: an entry in EXPECTATIONS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_NAME, REPO_ROOT, type N8nInstance } from '../../support/n8n-env';
import {
	MANUAL_TRIGGER_NAME,
	SAMPLE_WORKFLOW_ERROR,
	expectAlertedFailure,
	expectCleanRun,
	safetyProblems,
	testCopy,
	type TestCopyOptions,
} from './example-test-copy';
import { createProtheusTree, snapshotTree, type ProtheusTree } from '../../support/fixtures/protheus-tree';
import {
	executeWorkflow,
	freshInstance,
	importCredentials,
	importWorkflow,
	nodeOutputs,
	printTimings,
	ranNodes,
	type CredentialToImport,
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
const exampleFiles = readdirSync(EXAMPLES_DIR)
	.filter((f) => f.endsWith('.json'))
	.sort();
const examples = exampleFiles.map((file) => ({
	file,
	workflow: JSON.parse(readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as WorkflowJson,
}));

let instance: N8nInstance;
let source: ProtheusSource;
let sftp: SftpDestination;
let drive: DriveDestination;
let work: string;
let tree: ProtheusTree;

/**
 * Where the examples expect the Protheus install (`/totvs/protheus/bin/appserver/appserver.ini`);
 * the test copies point at a generated Protheus tree with the same layout instead.
 */
const EXAMPLE_PROTHEUS_ROOT = '/totvs/protheus';

/** Same workflow with our nodes' paths under EXAMPLE_PROTHEUS_ROOT moved to the test's Protheus tree. */
function withTestPaths(workflow: WorkflowJson): WorkflowJson {
	const copy = JSON.parse(JSON.stringify(workflow)) as WorkflowJson;
	for (const node of copy.nodes.filter((n) => n.type.startsWith(`${PACKAGE_NAME}.`))) {
		for (const [name, value] of Object.entries(node.parameters ?? {})) {
			if (typeof value === 'string' && value.includes(EXAMPLE_PROTHEUS_ROOT))
				node.parameters![name] = value.split(EXAMPLE_PROTHEUS_ROOT).join(tree.root);
		}
	}
	return copy;
}

/** The runnable copy of an example: test paths, test triggers and notification stand-ins. */
const runnableCopy = (example: WorkflowJson, options: TestCopyOptions = {}) =>
	testCopy(withTestPaths(example), options);

const HOURLY = 'hourly-protheus-files-incremental.json';
const HOURLY_TRIGGER = 'Every hour at :15 (07-19, Mon-Sat)';
const NIGHTLY_FILES_TRIGGER = 'Every night at 01:15';

const NIGHTLY = 'nightly-postgres-backup.json';
/** The nightly example's optional second copy, disabled as shipped (the quick start needs three credentials). */
const NIGHTLY_DRIVE_NODES = ['Upload to Google Drive', 'Prune Google Drive'];

/**
 * How the generic run of an example differs from "start from every trigger, expect a message".
 * `enable`: nodes the example ships disabled that this run switches on (the nightly example as
 * shipped, Google Drive off, is what test/e2e/quickstart.e2e.ts runs).
 */
const GENERIC_RUN: Record<
	string,
	{ startFrom?: string[]; messageOnSuccess?: false; enable?: string[]; runElsewhere?: string }
> = {
	[HOURLY]: { startFrom: [HOURLY_TRIGGER], messageOnSuccess: false },
	[NIGHTLY]: { enable: NIGHTLY_DRIVE_NODES },
	'restore-drill.json': {
		runElsewhere:
			'run by test/e2e/recovery.e2e.ts, which first puts a Database + Files restore point on the SFTP server (no example here makes one)',
	},
};

/** Examples this file runs; the others say where they run (their safety is still checked here). */
const runHere = exampleFiles.filter((file) => !GENERIC_RUN[file]?.runElsewhere);
const runElsewhere = exampleFiles
	.filter((file) => GENERIC_RUN[file]?.runElsewhere)
	.map((file) => [file, GENERIC_RUN[file].runElsewhere!]);

/** Same workflow with the named disabled nodes switched on. */
function withEnabled(workflow: WorkflowJson, names: string[] = []): WorkflowJson {
	const copy = JSON.parse(JSON.stringify(workflow)) as WorkflowJson;
	for (const name of names) {
		const node = copy.nodes.find((n) => n.name === name);
		if (!node) throw new Error(`${workflow.name}: no node named ${name}`);
		expect({ node: name, disabled: node.disabled }).toEqual({ node: name, disabled: true });
		delete node.disabled;
	}
	return copy;
}

/** The examples' restore server credential: it creates scratch databases, so the test gives it the superuser. */
const RESTORE_SERVER_CREDENTIAL_ID = 'TotvsPgRestore01';

interface CredentialRef {
	type: string;
	id: string;
	name: string;
}

/** Test data for each credential type the examples use (loopback servers only). */
const CREDENTIALS_FOR_TEST: Record<string, (ref: CredentialRef) => CredentialToImport> = {
	totvsPostgres: (ref) =>
		ref.id === RESTORE_SERVER_CREDENTIAL_ID
			? restoreServerCredential(ref.id, ref.name)
			: source.credential(ref.id, ref.name),
	totvsSftp: (ref) => sftp.credential(ref.id, ref.name),
	totvsGoogleDriveApi: (ref) => drive.credential(ref.id, ref.name),
};

const BAD_PASSWORD_CREDENTIAL_ID = 'E2eExamplePgBad1';

function credentialRefs(workflow: WorkflowJson): CredentialRef[] {
	return workflow.nodes.flatMap((node) =>
		Object.entries((node.credentials ?? {}) as Record<string, { id: string; name: string }>).map(([type, ref]) => ({
			type,
			...ref,
		})),
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

/**
 * The files a backup of the test tree with the Protheus defaults holds, read from the disk and
 * named as the set's index names them, with their sizes: the appserver.ini, the RPO folder, and
 * Protheus_Data without systemload/, spool/, *.tmp and *.log (what the README promises).
 */
async function expectedFiles(): Promise<Map<string, number>> {
	const out = new Map<string, number>();
	for (const [file, node] of await snapshotTree(tree.root)) {
		if (node.type !== 'file') continue;
		if (file === 'bin/appserver/appserver.ini') out.set('appserver.ini', node.size);
		else if (file.startsWith('apo/')) out.set(file, node.size);
		else if (
			file.startsWith('protheus_data/') &&
			!/^protheus_data\/(systemload|spool)\//.test(file) &&
			!/\.(tmp|log)$/.test(file)
		)
			out.set(file, node.size);
	}
	return out;
}

/** The regular files in a file set's archive, listed by GNU tar (not by this package's reader). */
function filesInArchive(item: Record<string, unknown>): string[] {
	const artifacts = item.artifacts as Array<{ path: string }>;
	expect(artifacts.map((a) => a.path)).toEqual([expect.stringMatching(/^files\.tar/)]);
	const listing = execFileSync(
		'tar',
		['--quoting-style=literal', '-tvf', path.join(item.location as string, artifacts[0].path)],
		{
			encoding: 'utf8',
			env: { ...process.env, LC_ALL: 'C.UTF-8' },
			maxBuffer: 64 << 20,
		},
	);
	// "-rw-r--r-- user/group 1234 2026-11-26 10:15 protheus_data/web/nova página.htm"
	return listing
		.split('\n')
		.filter((line) => line.startsWith('-'))
		.map((line) => /^\S+\s+\S+\s+\d+\s+\S+\s+\S+\s(.*)$/.exec(line)![1])
		.sort();
}

/** The item the hourly example's Upload to SFTP emitted: uploaded, verified, on the SFTP server. */
function expectUploadedFilesSet(run: RawRun, dumpNode: string): Record<string, unknown> {
	const [[dumped]] = nodeOutputs(run, dumpNode);
	const [[done]] = nodeOutputs(run, 'Done (no message)');
	const backupId = dumped.backupId as string;
	expect(done).toMatchObject({
		status: 'ok',
		backupId,
		engine: 'protheus-files',
		component: 'files',
		environment: 'prod',
		verification: { ok: true },
	});
	expect(done.uploads).toEqual([
		expect.objectContaining({ remotePath: `prod/${backupId}`, bytes: dumped.totalBytes, verified: true }),
	]);
	expect(readFileSync(path.join(sftp.sshd.user.home, 'prod', backupId, 'manifest.json'), 'utf8')).toContain(backupId);
	expect(ranNodes(run)).not.toContain('Slack: files backup FAILED');
	return dumped;
}

/** Checks specific to one example, after expectCleanRun. */
const lastRuns: Record<string, RawRun> = {};

const EXPECTATIONS: Record<string, (run: RawRun) => void | Promise<void>> = {
	// The first hourly run finds no set to build on: a full, promoted, of exactly the expected files.
	[HOURLY]: async (run) => {
		expect(ranNodes(run)).not.toContain('TOTVS Dump: nightly full');
		const dumped = expectUploadedFilesSet(run, 'TOTVS Dump: incremental');
		const expected = await expectedFiles();
		expect(dumped).toMatchObject({
			type: 'full',
			promotedToFull: true,
			fileCount: expected.size,
			archivedFiles: expected.size,
		});
		expect(dumped.fileBytes).toBe([...expected.values()].reduce((a, b) => a + b, 0));
		expect(dumped.promotionReason).toContain('no backup of these folders exists');
		expect(filesInArchive(dumped)).toEqual([...expected.keys()].sort());
	},
	'nightly-postgres-backup.json': (run) => {
		const [verified] = nodeOutputs(run, 'TOTVS Verify');
		expect(verified).toHaveLength(1);
		expect(verified[0]).toMatchObject({
			status: 'ok',
			environment: 'prod',
			database: source.database,
			verification: { ok: true },
		});
		expect(ranNodes(run)).not.toContain('Slack: backup FAILED');
		const [messages] = nodeOutputs(run, 'Slack: backup OK');
		expect(messages).toHaveLength(1);
		expect(messages[0].text).toContain(
			`TOTVS backup *${verified[0].backupId as string}* OK: ${verified[0].tableCount as number} tables`,
		);
		expect(messages[0].text).toContain(verified[0].location as string);
		expect(messages[0].text).toContain(verified[0].summary as string);
		// The set went to the SFTP server and (the optional copy, enabled in this run) to Google Drive,
		// and the retention policy ran, for real, in the staging folder and on both.
		const backupId = verified[0].backupId as string;
		const toSftp = {
			destination: `sftp://${sftp.sshd.user.name}@127.0.0.1:${sftp.sshd.port}`,
			remotePath: `prod/${backupId}`,
			bytes: verified[0].totalBytes,
			verified: true,
		};
		const toDrive = {
			destination: expect.stringContaining(
				`gdrive://backup@totvs-e2e.iam.gserviceaccount.com/${drive.drive.rootFolderId}`,
			),
			remotePath: `prod/${backupId}`,
			bytes: verified[0].totalBytes,
			verified: true,
		};
		const stagingFolder = path.dirname(path.dirname(verified[0].location as string));
		const prunes = [
			{ node: 'Prune staging folder', destination: `file://${stagingFolder}` },
			{ node: 'Prune SFTP', destination: toSftp.destination },
			{ node: 'Prune Google Drive', destination: toDrive.destination },
		].map(({ node, destination }) => {
			const [[pruned]] = nodeOutputs(run, node);
			expect({ node, ...pruned }).toMatchObject({ node, status: 'ok', backupId, uploads: [toSftp, toDrive] });
			// Nothing young enough to delete yet; the set just made is kept.
			expect({ node, ...(pruned.prune as object) }).toMatchObject({
				node,
				destination,
				environment: 'prod',
				dryRun: false,
				deleteCount: 0,
			});
			expect((pruned.prune as { kept: Array<{ backupId: string }> }).kept).toEqual(
				expect.arrayContaining([expect.objectContaining({ backupId })]),
			);
			return pruned;
		});
		expect(readFileSync(path.join(sftp.sshd.user.home, 'prod', backupId, 'manifest.json'), 'utf8')).toContain(backupId);
		expect(readFileSync(path.join(stagingFolder, 'prod', backupId, 'manifest.json'), 'utf8')).toContain(backupId);
		const uploads = prunes[2].uploads as Array<{ destination: string; remotePath: string }>;
		expect(messages[0].text).toContain(
			`Off-site: ${uploads.map((u) => `${u.destination}/${u.remotePath}`).join(', ')}`,
		);
		expect(messages[0].text).toContain(`Retention: ${prunes.map((p) => p.summary as string).join(' ')}`);
	},
	// Runs after the nightly example (files in name order), so the SFTP server holds its set.
	'weekly-restore-test.json': (run) => {
		const [tested] = nodeOutputs(run, 'TOTVS Restore Test');
		expect(tested).toHaveLength(1);
		const item = tested[0] as {
			backupId: string;
			status: string;
			restoreTest: { passed: boolean; checks: Array<{ ok: boolean }>; source: { remotePath: string } };
		};
		expect(item).toMatchObject({
			status: 'ok',
			environment: 'prod',
			database: source.database,
			restoreTest: { passed: true },
		});
		expect(item.restoreTest.checks.filter((c) => !c.ok)).toEqual([]);
		expect(item.restoreTest.source.remotePath).toBe(`prod/${item.backupId}`);
		const [nightly] = nodeOutputs(lastRuns['nightly-postgres-backup.json'], 'TOTVS Verify');
		expect(item.backupId).toBe(nightly[0].backupId);
		expect(ranNodes(run)).not.toContain('Slack: restore test FAILED');
		const [emails] = nodeOutputs(run, 'Email: restore test report');
		expect(emails).toHaveLength(1);
		expect(emails[0]).toMatchObject({
			toEmail: 'dba-team@example.com',
			subject: `[TOTVS] Restore test passed: ${item.backupId}`,
		});
		expect(emails[0].text).toContain(`${item.restoreTest.checks.length} checks passed`);
		expect(emails[0].html).toContain(`<b>${item.backupId}</b>`);
	},
	'error-alert.json': (run) => {
		const { workflow, execution } = SAMPLE_WORKFLOW_ERROR;
		const [slack] = nodeOutputs(run, 'Slack: workflow error');
		expect(slack).toHaveLength(1);
		expect(slack[0].text).toContain(
			`*${workflow.name}* stopped with an error in node ${execution.lastNodeExecuted}: ${execution.error.message}`,
		);
		expect(slack[0].text).toContain(execution.url);
		const [email] = nodeOutputs(run, 'Email: workflow error');
		expect(email).toHaveLength(1);
		expect(email[0].subject).toBe(`[n8n] Backup workflow "${workflow.name}" failed`);
		expect(email[0].text).toContain(`Error: ${execution.error.message}`);
	},
};

beforeAll(async () => {
	work = mkdtempSync(path.join(os.tmpdir(), 'totvs-e2e-examples-'));
	[instance, source, sftp, drive, tree] = await Promise.all([
		freshInstance('examples'),
		createProtheusSource('e2e_ex'),
		startSftpDestination(),
		startDriveDestination(),
		// A real Protheus install's layout (appserver.ini, RPOs, Protheus_Data), small: ~600 files, ~5 MB.
		createProtheusTree(path.join(work, 'totvs', 'protheus'), {
			smallFiles: 400,
			rpoBytes: 1 << 20,
			tables: 6,
			tableBytes: 64 << 10,
		}),
	]);
	const refs = new Map(
		examples.flatMap(({ workflow }) => credentialRefs(testCopy(workflow))).map((ref) => [ref.id, ref]),
	);
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
	if (work) rmSync(work, { recursive: true, force: true });
});

describe('examples/ in a real n8n', () => {
	it.each(exampleFiles)(
		'%s is safe to import as is (staging bounded, failures end in Stop and Error, RPO stated)',
		(file) => {
			const example = examples.find((e) => e.file === file)!.workflow;
			expect({ file, problems: safetyProblems(example) }).toEqual({ file, problems: [] });
		},
	);

	it('the safety check finds an unbounded staging folder and a failure branch without Stop and Error', () => {
		const nightly = examples.find((e) => e.file === NIGHTLY)!.workflow;
		const unsafe = JSON.parse(JSON.stringify(nightly)) as WorkflowJson;
		unsafe.nodes.find((n) => n.name === 'Prune staging folder')!.parameters!.dryRun = true;
		unsafe.nodes = unsafe.nodes.filter((n) => n.type !== 'n8n-nodes-base.stopAndError');
		delete (unsafe.connections as Record<string, unknown>)['Slack: backup FAILED'];
		const problems = safetyProblems(unsafe);
		expect(problems).toEqual([
			expect.stringContaining('"TOTVS Dump" writes the staging folder, but no Prune of it'),
			'the failure branch of "Backup OK?" ends in "Slack: backup FAILED", not in a Stop and Error',
		]);
	});

	it('has examples, each with sticky notes that explain it', () => {
		expect(exampleFiles).toEqual(
			expect.arrayContaining(['nightly-postgres-backup.json', HOURLY, 'error-alert.json', 'weekly-restore-test.json']),
		);
		for (const { file, workflow } of examples) {
			const notes = workflow.nodes.filter((n) => n.type === 'n8n-nodes-base.stickyNote');
			expect({ file, explained: notes.some((n) => String(n.parameters?.content ?? '').length > 100) }).toEqual({
				file,
				explained: true,
			});
			// Node names are unique (connections refer to nodes by name) and ids are stable.
			expect(new Set(workflow.nodes.map((n) => n.name)).size).toBe(workflow.nodes.length);
			expect(workflow.id).toMatch(/^[A-Za-z0-9]{16}$/);
		}
	});

	if (runElsewhere.length) it.skip.each(runElsewhere)('%s imports and runs: %s', () => undefined);

	it.each(runHere)('%s imports and runs', async (file) => {
		const example = examples.find((e) => e.file === file)!.workflow;
		const { startFrom, messageOnSuccess, enable } = GENERIC_RUN[file] ?? {};
		const copy = runnableCopy(withEnabled(example, enable), { startFrom });
		expect(
			copy.nodes.some((n) => n.name === MANUAL_TRIGGER_NAME) ||
				copy.nodes.some((n) => n.type === 'n8n-nodes-base.manualTrigger'),
		).toBe(true);
		await importWorkflow(instance, copy);
		const run = expectCleanRun(await executeWorkflow(instance, copy), example, copy, messageOnSuccess !== false);
		lastRuns[file] = run;
		await EXPECTATIONS[file]?.(run);
	});

	it('nightly example: a wrong database password sends the failure message, deletes nothing, and fails the execution', async () => {
		const example = examples.find((e) => e.file === NIGHTLY)!.workflow;
		const copy = runnableCopy(withCredential(example, 'totvsPostgres', BAD_PASSWORD_CREDENTIAL_ID), {
			id: 'E2eNightlyBadPwd',
			name: 'nightly example with a wrong password (e2e)',
		});
		await importWorkflow(instance, copy);
		const run = expectAlertedFailure(await executeWorkflow(instance, copy), example, copy);
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
		// The Prunes passed the failed item on untouched: a night without a good set deletes nothing.
		for (const prune of ['Prune staging folder', 'Prune SFTP']) {
			const [[passed]] = nodeOutputs(run, prune);
			expect({ prune, item: passed }).toEqual({ prune, item: dumped[0] });
		}
		// Stop and Error: n8n lists the execution as failed, with what failed, and calls the error workflow.
		expect(run.data.resultData.error).toMatchObject({
			message: 'TOTVS backup failed (prod)',
			description: `${error.message} — ${error.description}`,
		});
	});
	// After the generic run of the hourly example (its first run: a promoted full).
	it('hourly example: the next run is an incremental holding only the files changed since', async () => {
		const example = examples.find((e) => e.file === HOURLY)!.workflow;
		const [[first]] = nodeOutputs(lastRuns[HOURLY], 'TOTVS Dump: incremental');
		await writeFile(
			path.join(tree.protheusData, 'system', 'sigafat.xnu'),
			'<ApMenu><Menu Status="Enable"><Title lang="pt">Faturamento (alterado)</Title></Menu></ApMenu>\n',
		);
		await writeFile(path.join(tree.protheusData, 'web', 'nova página.htm'), '<html>nova</html>\n');
		await rm(path.join(tree.protheusData, 'profile', '000', 'arquivo 0.prf'));
		// Changes the defaults leave out must not show up.
		await writeFile(path.join(tree.protheusData, 'system', 'error.log'), 'THREAD ERROR again\n');
		await writeFile(path.join(tree.protheusData, 'spool', 'relatorio2.##r'), 'spool\n');

		const copy = runnableCopy(example, { startFrom: [HOURLY_TRIGGER] });
		await importWorkflow(instance, copy);
		const run = expectCleanRun(await executeWorkflow(instance, copy), example, copy, false);
		const dumped = expectUploadedFilesSet(run, 'TOTVS Dump: incremental');
		const expected = await expectedFiles();
		expect(dumped).toMatchObject({
			type: 'incremental',
			promotedToFull: false,
			baseBackupId: first.backupId,
			parentBackupId: first.backupId,
			fileCount: expected.size,
			archivedFiles: 2,
			changes: {
				added: 1,
				changed: 1,
				deleted: 1,
				addedPaths: ['protheus_data/web/nova página.htm'],
				changedPaths: ['protheus_data/system/sigafat.xnu'],
				deletedPaths: ['protheus_data/profile/000/arquivo 0.prf'],
			},
		});
		expect(filesInArchive(dumped)).toEqual(['protheus_data/system/sigafat.xnu', 'protheus_data/web/nova página.htm']);
		const [[verified]] = nodeOutputs(run, 'TOTVS Verify');
		const checks = (verified.verification as { checks: Array<{ name: string; ok: boolean }> }).checks;
		expect(checks).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'chain', ok: true })]));
		lastRuns[HOURLY] = run;
	});

	it('hourly example: the nightly schedule starts a new chain with a full of every file', async () => {
		const example = examples.find((e) => e.file === HOURLY)!.workflow;
		const copy = runnableCopy(example, {
			id: 'E2eHourlyNightly',
			name: 'hourly example, nightly full (e2e)',
			startFrom: [NIGHTLY_FILES_TRIGGER],
		});
		await importWorkflow(instance, copy);
		const run = expectCleanRun(await executeWorkflow(instance, copy), example, copy, false);
		expect(ranNodes(run)).not.toContain('TOTVS Dump: incremental');
		const dumped = expectUploadedFilesSet(run, 'TOTVS Dump: nightly full');
		const expected = await expectedFiles();
		expect(dumped).toMatchObject({
			type: 'full',
			promotedToFull: false,
			fileCount: expected.size,
			archivedFiles: expected.size,
		});
		expect(dumped.baseBackupId ?? null).toBeNull();
		expect(filesInArchive(dumped)).toEqual([...expected.keys()].sort());
	});

	it('hourly example: a backup that fails sends the Slack alert with what failed and what to do, then fails the execution', async () => {
		const example = examples.find((e) => e.file === HOURLY)!.workflow;
		const broken = JSON.parse(JSON.stringify(example)) as WorkflowJson;
		const dump = broken.nodes.find((n) => n.name === 'TOTVS Dump: incremental')!;
		dump.parameters!.appserverIni = `${EXAMPLE_PROTHEUS_ROOT}/bin/appserver/missing.ini`;
		const copy = runnableCopy(broken, {
			id: 'E2eHourlyBadPath',
			name: 'hourly example, appserver.ini missing (e2e)',
			startFrom: [HOURLY_TRIGGER],
		});
		await importWorkflow(instance, copy);
		const run = expectAlertedFailure(await executeWorkflow(instance, copy), example, copy);
		const [[dumped]] = nodeOutputs(run, 'TOTVS Dump: incremental');
		expect(dumped.status).toBe('failed');
		const error = dumped.error as { message: string; description: string };
		expect(error.message).toContain('missing.ini');
		// What failed goes in the error's description: n8n replaces a message holding a system error
		// code (here ENOENT) with a generic sentence ("The file or directory does not exist").
		expect(run.data.resultData.error).toMatchObject({
			message: 'TOTVS files backup failed (prod)',
			description: `${error.message} — ${error.description}`,
		});
		expect(ranNodes(run)).not.toContain('Done (no message)');
		const [messages] = nodeOutputs(run, 'Slack: files backup FAILED');
		expect(messages).toHaveLength(1);
		expect(messages[0].text).toContain(`*What failed:* ${error.message}`);
		expect(messages[0].text).toContain(`*What to do:* ${error.description}`);
	});
});
