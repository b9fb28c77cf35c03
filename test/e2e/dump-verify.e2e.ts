/**
 * TOTVS Dump -> TOTVS Verify inside a real n8n 2.x (Node 24, the packed package installed as a
 * community package), driven by n8n's CLI against a real PostgreSQL with a Protheus database.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { N8nInstance } from '../../support/n8n-env';
import { describeProtheusDatabase } from '../../support/fixtures/protheus-db';
import { sharedPostgres } from '../../support/shared-postgres';
import {
	executeWorkflow,
	freshInstance,
	importCredentials,
	importWorkflow,
	nodeOutputs,
	printTimings,
	ranNodes,
	succeeded,
	type WorkflowJson,
} from './n8n-cli';
import { createProtheusSource, type ProtheusSource } from './sources';
import { DUMP_TYPE, VERIFY_TYPE } from './node-types';

const GOOD_CREDENTIAL = 'E2ePgCredGood001';
const BAD_CREDENTIAL = 'E2ePgCredBad0001';
const WRONG_PASSWORD = 'not-the-password-9f3k';

let instance: N8nInstance;
let source: ProtheusSource;

/**
 * Manual Trigger -> Dump -> Verify -> IF status = ok -> "Success" (NoOp) / "Alert" (Set, the
 * stand-in for Slack or email: it builds the message from the item's fields). Dump and Verify
 * have On Error = Continue (regular output), as the nightly example has.
 */
function backupWorkflow(id: string, credentialId: string): WorkflowJson {
	const node = (name: string, type: string, position: [number, number], rest: Record<string, unknown> = {}) => ({
		id: `${id}-${name}`.replace(/\W/g, '-'),
		name,
		type,
		typeVersion: 1,
		position,
		parameters: {},
		...rest,
	});
	return {
		id,
		name: `e2e ${id}`,
		active: false,
		nodes: [
			node('Start', 'n8n-nodes-base.manualTrigger', [0, 0]),
			node('TOTVS Dump', DUMP_TYPE, [200, 0], {
				parameters: { source: 'postgres', environment: 'e2e', stagingFolder: '', options: {} },
				credentials: { totvsPostgres: { id: credentialId, name: credentialId } },
				onError: 'continueRegularOutput',
			}),
			node('TOTVS Verify', VERIFY_TYPE, [400, 0], {
				parameters: { setFolder: '={{ $json.location }}', options: {} },
				onError: 'continueRegularOutput',
			}),
			node('Backup OK?', 'n8n-nodes-base.if', [600, 0], {
				typeVersion: 2.2,
				parameters: {
					conditions: {
						options: { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 },
						conditions: [
							{
								id: 'status-ok',
								leftValue: '={{ $json.status }}',
								rightValue: 'ok',
								operator: { type: 'string', operation: 'equals' },
							},
						],
						combinator: 'and',
					},
					options: {},
				},
			}),
			node('Success', 'n8n-nodes-base.noOp', [800, -100]),
			node('Alert', 'n8n-nodes-base.set', [800, 100], {
				typeVersion: 3.4,
				parameters: {
					mode: 'manual',
					assignments: {
						assignments: [
							{
								id: 'text',
								name: 'text',
								type: 'string',
								value: '=Backup FAILED: {{ $json.error.message }} / {{ $json.error.description }}',
							},
							{ id: 'status', name: 'status', type: 'string', value: '={{ $json.status }}' },
						],
					},
					includeOtherFields: false,
					options: {},
				},
			}),
		],
		connections: {
			Start: { main: [[{ node: 'TOTVS Dump', type: 'main', index: 0 }]] },
			'TOTVS Dump': { main: [[{ node: 'TOTVS Verify', type: 'main', index: 0 }]] },
			'TOTVS Verify': { main: [[{ node: 'Backup OK?', type: 'main', index: 0 }]] },
			'Backup OK?': {
				main: [[{ node: 'Success', type: 'main', index: 0 }], [{ node: 'Alert', type: 'main', index: 0 }]],
			},
		},
		settings: { executionOrder: 'v1' },
	};
}

const happy = backupWorkflow('E2eDumpVerifyOk1', GOOD_CREDENTIAL);
const wrongPassword = backupWorkflow('E2eDumpVerifyBad', BAD_CREDENTIAL);

const listFolder = (folder: string) => (existsSync(folder) ? readdirSync(folder).sort() : []);

async function sha256(file: string): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
	return hash.digest('hex');
}

beforeAll(async () => {
	[instance, source] = await Promise.all([freshInstance('dump-verify'), createProtheusSource('e2e_dv')]);
	await importCredentials(instance, [
		source.credential(GOOD_CREDENTIAL, GOOD_CREDENTIAL),
		source.credential(BAD_CREDENTIAL, BAD_CREDENTIAL, { password: WRONG_PASSWORD }),
	]);
	await importWorkflow(instance, happy);
	await importWorkflow(instance, wrongPassword);
});

afterAll(async () => {
	printTimings('dump-verify.e2e.ts');
	await source?.drop();
	if (instance) rmSync(instance.userFolder, { recursive: true, force: true });
});

describe('TOTVS Dump -> TOTVS Verify in a real n8n', () => {
	it('backs up the Protheus database and verifies the set (happy path)', async () => {
		const execution = await executeWorkflow(instance, happy);
		const run = succeeded(execution);

		const [dumped] = nodeOutputs(run, 'TOTVS Dump');
		expect(dumped).toHaveLength(1);
		const [verifiedOut] = nodeOutputs(run, 'TOTVS Verify');
		expect(verifiedOut).toHaveLength(1);
		const item = verifiedOut[0];
		const live = await describeProtheusDatabase(sharedPostgres(), source.database);
		expect(item).toMatchObject({
			status: 'ok',
			environment: 'e2e',
			component: 'database',
			engine: 'postgres',
			type: 'full',
			database: source.database,
			tableCount: live.tables.length,
			rowCount: live.tables.reduce((sum, t) => sum + t.rows, 0),
			// Verify passes Dump's fields through and adds its own.
			backupId: dumped[0].backupId,
			location: dumped[0].location,
		});
		expect(item.backupId).toMatch(/^e2e-\d{8}T\d{6}Z-full-db$/);
		expect(item.summary).toMatch(/verified: all 3 checks passed/);
		const verification = item.verification as { ok: boolean; checks: Array<{ name: string; ok: boolean }> };
		expect(verification.ok).toBe(true);
		expect(verification.checks.map((c) => [c.name, c.ok])).toEqual([
			['manifest', true],
			['artifacts', true],
			['archive', true],
		]);

		// The default staging folder is under the n8n user folder, as documented.
		const location = item.location as string;
		expect(location).toBe(
			path.join(instance.userFolder, '.n8n-files', 'totvs-backups', 'e2e', item.backupId as string),
		);
		expect(existsSync(item.manifestPath as string)).toBe(true);
		const artifacts = item.artifacts as Array<{ path: string; bytes: number; sha256: string }>;
		expect(artifacts.length).toBeGreaterThan(0);
		for (const artifact of artifacts) {
			const file = path.join(location, artifact.path);
			expect(statSync(file).size).toBe(artifact.bytes);
			expect(await sha256(file)).toBe(artifact.sha256);
		}

		// The IF sent the item to the success branch only.
		expect(nodeOutputs(run, 'Backup OK?').map((items) => items.length)).toEqual([1, 0]);
		expect(ranNodes(run)).toContain('Success');
		expect(ranNodes(run)).not.toContain('Alert');

		// The password never shows in what n8n printed or in the manifest.
		expect(execution.stdout + execution.stderr).not.toContain(source.password);
		expect(readFileSync(item.manifestPath as string, 'utf8')).not.toContain(source.password);
	});

	it('turns a wrong password into a failed item that the IF routes to the alert branch', async () => {
		const environmentFolder = path.join(instance.userFolder, '.n8n-files', 'totvs-backups', 'e2e');
		const setsBefore = listFolder(environmentFolder);
		const execution = await executeWorkflow(instance, wrongPassword);
		// On Error = Continue: the workflow itself succeeds, the failure travels as an item.
		const run = succeeded(execution);

		const [dumped] = nodeOutputs(run, 'TOTVS Dump');
		expect(dumped).toHaveLength(1);
		expect(dumped[0].status).toBe('failed');
		const error = dumped[0].error as { message: string; description: string };
		expect(error.message).toMatch(/password authentication failed|authentication/i);
		expect(error.message).toContain(source.user);
		expect(error.description.length).toBeGreaterThan(10);
		// Verify passes the failed item on untouched.
		expect(nodeOutputs(run, 'TOTVS Verify')[0]).toEqual([dumped[0]]);

		expect(nodeOutputs(run, 'Backup OK?').map((items) => items.length)).toEqual([0, 1]);
		expect(ranNodes(run)).not.toContain('Success');
		const [alert] = nodeOutputs(run, 'Alert');
		expect(alert).toEqual([{ status: 'failed', text: `Backup FAILED: ${error.message} / ${error.description}` }]);

		expect(execution.stdout + execution.stderr).not.toContain(WRONG_PASSWORD);
		// No set, not even an unfinished one, was left in the staging folder.
		expect(listFolder(environmentFolder)).toEqual(setsBefore);
	});
});
