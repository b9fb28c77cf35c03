/**
 * The README's quick start, followed literally in a real n8n: `examples/nightly-postgres-backup.json`
 * imported as shipped, the three credentials the quick start names created and set on exactly
 * the nodes it names (what a user does in the editor, done with `n8n import:credentials` and the
 * workflow's credential references), run, and the result it promises checked: a set on the SFTP
 * server whose every file matches its manifest's SHA-256 (hashed here from the server's disk, not
 * by this package), and the Slack message naming it.
 *
 * The only stand-ins, as in examples.e2e.ts (example-test-copy.ts): a Manual Trigger in front of
 * the Schedule Trigger (what the editor's "Execute workflow" does; `n8n execute` needs one) and
 * the Slack nodes (no slack.com here; their message expressions still run). The Google Drive
 * nodes stay disabled, as shipped.
 *
 * The quick start text is checked too (English and Portuguese): it must still name the example
 * file, the three credentials and the nodes each goes on, so text and test cannot drift apart.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_NAME, REPO_ROOT, type N8nInstance } from '../../support/n8n-env';
import { expectCleanRun, testCopy } from './example-test-copy';
import {
	executeWorkflow,
	freshInstance,
	importCredentials,
	importWorkflow,
	nodeOutputs,
	printTimings,
	ranNodes,
	type CredentialToImport,
	type WorkflowJson,
} from './n8n-cli';
import { createProtheusSource, startSftpDestination, type ProtheusSource, type SftpDestination } from './sources';

const EXAMPLE = 'examples/nightly-postgres-backup.json';

/** The quick start's step 2: each credential (as the README names it) and the nodes it goes on. */
const QUICK_START_CREDENTIALS: Array<{ type: string; shown: string; nodes: string[] }> = [
	{ type: 'totvsPostgres', shown: 'TOTVS PostgreSQL', nodes: ['TOTVS Dump'] },
	{ type: 'totvsSftp', shown: 'TOTVS SFTP', nodes: ['Upload to SFTP', 'Prune SFTP'] },
	{ type: 'slackApi', shown: 'Slack', nodes: ['Slack: backup OK', 'Slack: backup FAILED'] },
];

/** The quick start section of a README: from its heading to the next second-level heading. */
function quickStart(file: string, heading: string): string {
	const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
	const start = text.indexOf(`\n## ${heading}\n`);
	if (start === -1) throw new Error(`${file} has no "## ${heading}" section`);
	const end = text.indexOf('\n## ', start + 1);
	return text.slice(start, end === -1 ? undefined : end);
}

const example = JSON.parse(readFileSync(path.join(REPO_ROOT, EXAMPLE), 'utf8')) as WorkflowJson;

let instance: N8nInstance;
let source: ProtheusSource;
let sftp: SftpDestination;

beforeAll(async () => {
	[instance, source, sftp] = await Promise.all([
		freshInstance('quickstart'),
		createProtheusSource('e2e_qs'),
		startSftpDestination(),
	]);
});

afterAll(async () => {
	printTimings('quickstart.e2e.ts');
	await sftp?.stop();
	await source?.drop();
	if (instance) rmSync(instance.userFolder, { recursive: true, force: true });
});

async function sha256Of(file: string): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
	return hash.digest('hex');
}

describe("the README's quick start in a real n8n", () => {
	it.each([
		['README.md', 'Quick start'],
		['README.pt-BR.md', 'Início rápido'],
	])('%s: the quick start names the example, the three credentials and their nodes', (file, heading) => {
		const text = quickStart(file, heading);
		expect(text).toContain(EXAMPLE);
		for (const { shown, nodes } of QUICK_START_CREDENTIALS) {
			expect({ file, credential: shown, named: text.includes(`**${shown}**`) }).toEqual({
				file,
				credential: shown,
				named: true,
			});
			for (const node of nodes)
				expect({ file, node, named: text.includes(`*${node}*`) }).toEqual({ file, node, named: true });
		}
	});

	it('the example as shipped needs exactly those credentials, on exactly those nodes', () => {
		const needed = example.nodes
			.filter((n) => !n.disabled && n.credentials)
			.flatMap((n) => Object.keys(n.credentials as object).map((type) => `${type} on ${n.name}`))
			.sort();
		const given = QUICK_START_CREDENTIALS.flatMap(({ type, nodes }) => nodes.map((n) => `${type} on ${n}`)).sort();
		expect(needed).toEqual(given);
	});

	it('import, set three credentials, run: a verified set on the SFTP server and the Slack message', async () => {
		// Step 2: the user's own credentials (new ids, as the editor makes), selected on the named nodes.
		const mine: Record<string, CredentialToImport> = {
			totvsPostgres: source.credential('QuickStartPg0001', 'My Protheus database'),
			totvsSftp: sftp.credential('QuickStartSftp01', 'My SFTP server'),
			slackApi: {
				id: 'QuickStartSlack1',
				name: 'My Slack',
				type: 'slackApi',
				data: { accessToken: 'xoxb-e2e-quick-start-not-a-real-token' },
			},
		};
		await importCredentials(instance, Object.values(mine));
		const workflow = JSON.parse(JSON.stringify(example)) as WorkflowJson;
		for (const { type, nodes } of QUICK_START_CREDENTIALS) {
			for (const name of nodes) {
				const node = workflow.nodes.find((n) => n.name === name)!;
				node.credentials = { ...(node.credentials as object), [type]: { id: mine[type].id, name: mine[type].name } };
			}
		}
		// Step 1 (import) and step 3 (Execute workflow).
		const copy = testCopy(workflow, { name: 'Quick start (e2e)' });
		await importWorkflow(instance, copy);
		const run = expectCleanRun(await executeWorkflow(instance, copy), example, copy);

		// Step 4: the result the quick start promises.
		expect(ranNodes(run)).not.toContain('Slack: backup FAILED');
		const [[verified]] = nodeOutputs(run, 'TOTVS Verify');
		expect(verified).toMatchObject({ status: 'ok', environment: 'prod', database: source.database });
		const backupId = verified.backupId as string;
		const [[uploaded]] = nodeOutputs(run, 'Upload to SFTP');
		expect(uploaded.uploads).toEqual([
			expect.objectContaining({ remotePath: `prod/${backupId}`, verified: true, verifiedBy: 'sha256' }),
		]);
		const onServer = path.join(sftp.sshd.user.home, 'prod', backupId);
		const manifest = JSON.parse(readFileSync(path.join(onServer, 'manifest.json'), 'utf8')) as {
			backupId: string;
			artifacts: Array<{ path: string; bytes: number; sha256: string }>;
		};
		expect(manifest.backupId).toBe(backupId);
		expect(manifest.artifacts.map((a) => a.path)).toEqual([`${source.database}.dump`]);
		for (const artifact of manifest.artifacts)
			expect({ file: artifact.path, sha256: await sha256Of(path.join(onServer, artifact.path)) }).toEqual({
				file: artifact.path,
				sha256: artifact.sha256,
			});
		const [[message]] = nodeOutputs(run, 'Slack: backup OK');
		expect(message.text).toContain(`TOTVS backup *${backupId}* OK:`);
		expect(message.text).toContain(`prod/${backupId}`);
		// Step 5's retention ran in the staging folder and on SFTP (the Drive nodes stay disabled).
		for (const prune of ['Prune staging folder', 'Prune SFTP']) {
			const [[pruned]] = nodeOutputs(run, prune);
			expect({ prune, ...(pruned.prune as object) }).toMatchObject({ prune, dryRun: false, deleteCount: 0 });
		}
		expect(example.nodes.filter((n) => n.disabled).map((n) => n.name)).toEqual([
			'Upload to Google Drive',
			'Prune Google Drive',
		]);
		expect(example.nodes.every((n) => !n.type.startsWith(PACKAGE_NAME) || n.onError === 'continueRegularOutput')).toBe(
			true,
		);
	});
});
