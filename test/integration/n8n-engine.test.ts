/**
 * Proves the n8n engine harness with test-only nodes: items flow through n8n's real
 * WorkflowExecute, expressions are evaluated by the real engine, credentials reach
 * `this.getCredentials`, `this.logger` lines are captured, and node errors come back as results.
 */
import { Expression, NodeOperationError } from 'n8n-workflow';
import type {
	ICredentialType,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { MANUAL_TRIGGER_TYPE, NO_OP_TYPE, PACKAGE_NAME, packageNodeTypes, runWorkflow } from '../../support/n8n-engine';
import type { HarnessCredential, WorkflowInput } from '../../support/n8n-engine';

const SECRET = 'pa55-very-secret-w0rd';

class TestBackupApi implements ICredentialType {
	name = 'testBackupApi';
	displayName = 'Test Backup API';
	properties: ICredentialType['properties'] = [
		{ displayName: 'Host', name: 'host', type: 'string', default: 'localhost' },
		{ displayName: 'Port', name: 'port', type: 'number', default: 5432 },
		{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
	];
}

/** Reads a credential and an expression parameter per item; logs; emits paired items. */
class TestEcho implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Echo',
		name: 'testEcho',
		group: ['transform'],
		version: 1,
		description: 'test only',
		defaults: { name: 'Test Echo' },
		inputs: ['main'],
		outputs: ['main'],
		credentials: [{ name: 'testBackupApi', required: true }],
		properties: [{ displayName: 'Backup ID', name: 'backupId', type: 'string', default: '' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const credentials = await this.getCredentials('testBackupApi');
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			const backupId = this.getNodeParameter('backupId', i) as string;
			this.logger.info(`Echoing backup ${backupId}`, { backupId, host: credentials.host });
			out.push({
				json: {
					backupId,
					host: credentials.host,
					port: credentials.port,
					passwordLength: String(credentials.password).length,
				},
				pairedItem: { item: i },
			});
		}
		return [out];
	}
}

/** Fails items whose `shouldFail` parameter is true; honours Continue On Fail itself, as our nodes do. */
class TestFail implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Fail',
		name: 'testFail',
		group: ['transform'],
		version: 1,
		description: 'test only',
		defaults: { name: 'Test Fail' },
		inputs: ['main'],
		outputs: ['main'],
		properties: [{ displayName: 'Should Fail', name: 'shouldFail', type: 'boolean', default: true }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				if (this.getNodeParameter('shouldFail', i) === true) {
					throw new NodeOperationError(this.getNode(), `Backup ${String(items[i].json.backupId)} failed`, {
						description: 'The staging folder is not writable: check its permissions',
						itemIndex: i,
					});
				}
				out.push({ json: { ...items[i].json, status: 'ok' }, pairedItem: { item: i } });
			} catch (error) {
				if (!this.continueOnFail()) throw error;
				const { message, description } = error as NodeOperationError;
				out.push({
					json: { ...items[i].json, status: 'failed', error: { message, description } },
					pairedItem: { item: i },
				});
			}
		}
		return [out];
	}
}

/** Always throws, never looks at Continue On Fail: exercises the engine's own onError handling. */
class TestThrow implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Throw',
		name: 'testThrow',
		group: ['transform'],
		version: 1,
		description: 'test only',
		defaults: { name: 'Test Throw' },
		inputs: ['main'],
		outputs: ['main'],
		properties: [],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		throw new NodeOperationError(this.getNode(), 'Always fails', { description: 'By design' });
	}
}

const nodeTypes = packageNodeTypes([new TestEcho(), new TestFail(), new TestThrow()]);
const credentialTypes = [new TestBackupApi()];
const credentials: Record<string, HarnessCredential> = {
	cred1: { type: 'testBackupApi', name: 'Test creds', data: { host: 'db.example.test', password: SECRET } },
};
const TYPE = (name: string) => `${PACKAGE_NAME}.${name}`;

/** Trigger -> one node under test -> NoOp, so we can see what reached the next node. */
function chain(node: WorkflowInput['nodes'][number]): WorkflowInput {
	return {
		nodes: [{ name: 'Start', type: MANUAL_TRIGGER_TYPE }, node, { name: 'After', type: NO_OP_TYPE }],
		connections: {
			Start: { main: [[{ node: node.name, type: 'main', index: 0 }]] },
			[node.name]: { main: [[{ node: 'After', type: 'main', index: 0 }]] },
		},
	};
}

const echo = chain({
	name: 'Echo',
	type: TYPE('testEcho'),
	parameters: { backupId: '={{ $json.backupId }}-{{ $itemIndex }}' },
	credentials: { testBackupApi: { id: 'cred1', name: 'Test creds' } },
});

describe('n8n engine harness', () => {
	it('runs items through the real engine with expressions, credentials and captured logs', async () => {
		const result = await runWorkflow(echo, {
			nodeTypes,
			credentialTypes,
			credentials,
			triggerItems: [{ backupId: 'b1' }, { backupId: 'b2' }],
		});

		expect(result.error).toBeUndefined();
		expect(result.status).toBe('success');
		expect(result.executionOrder).toEqual(['Start', 'Echo', 'After']);

		// Expression evaluated per item; credential delivered, with the type's default for `port`.
		expect(result.jsonOf('Echo')).toEqual([
			{ backupId: 'b1-0', host: 'db.example.test', port: 5432, passwordLength: SECRET.length },
			{ backupId: 'b2-1', host: 'db.example.test', port: 5432, passwordLength: SECRET.length },
		]);
		expect(result.outputOf('Echo').map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(result.jsonOf('After').map((json) => json.backupId)).toEqual(['b1-0', 'b2-1']);

		// Logs: the node's lines are captured with their metadata, and the secret is nowhere.
		const echoed = result.logEntries.filter((entry) => entry.message.startsWith('Echoing backup'));
		expect(echoed.map((entry) => [entry.level, entry.message])).toEqual([
			['info', 'Echoing backup b1-0'],
			['info', 'Echoing backup b2-1'],
		]);
		expect(result.logs).toContain('[info] Echoing backup b1-0 {"backupId":"b1-0","host":"db.example.test"}');
		expect(result.logs.join('\n')).not.toContain(SECRET);

		// The in-process (tournament) evaluator did the work, not the isolated-vm sandbox.
		expect(Expression.getActiveImplementation()).toBe('legacy');
	});

	it("uses pinned data as a node's output, as the n8n editor does", async () => {
		const result = await runWorkflow(
			{ ...echo, pinData: { Start: [{ json: { backupId: 'pinned' } }] } },
			{ nodeTypes, credentialTypes, credentials },
		);
		expect(result.jsonOf('Echo').map((json) => json.backupId)).toEqual(['pinned-0']);
	});

	it('keeps logs of concurrent runs apart', async () => {
		const [a, b] = await Promise.all([
			runWorkflow(echo, { nodeTypes, credentialTypes, credentials, triggerItems: [{ backupId: 'A' }] }),
			runWorkflow(echo, { nodeTypes, credentialTypes, credentials, triggerItems: [{ backupId: 'B' }] }),
		]);
		expect(a.logs.filter((line) => line.includes('Echoing'))).toEqual([expect.stringContaining('Echoing backup A-0')]);
		expect(b.logs.filter((line) => line.includes('Echoing'))).toEqual([expect.stringContaining('Echoing backup B-0')]);
	});

	it('reports a thrown NodeOperationError with its description instead of rejecting', async () => {
		const result = await runWorkflow(chain({ name: 'Fail', type: TYPE('testFail') }), {
			nodeTypes,
			triggerItems: [{ backupId: 'b1' }],
		});

		expect(result.status).toBe('error');
		// n8n 2.x stores the error as a plain copy of the thrown one (what it saves to its database).
		expect(result.error).toMatchObject({
			name: 'NodeOperationError',
			message: 'Backup b1 failed',
			description: 'The staging folder is not writable: check its permissions',
			node: { name: 'Fail' },
		});
		expect(result.nodeError('Fail')).toMatchObject({ name: 'NodeOperationError', message: 'Backup b1 failed' });
		expect(result.runData.After).toBeUndefined();
		expect(() => result.outputOf('After')).toThrow('Node "After" did not run');
	});

	it('with Continue On Fail, the node turns the error into an item and the workflow goes on', async () => {
		const result = await runWorkflow(
			chain({
				name: 'Fail',
				type: TYPE('testFail'),
				continueOnFail: true,
				parameters: { shouldFail: "={{ $json.backupId === 'b2' }}" },
			}),
			{ nodeTypes, triggerItems: [{ backupId: 'b1' }, { backupId: 'b2' }] },
		);

		expect(result.error).toBeUndefined();
		expect(result.status).toBe('success');
		expect(result.jsonOf('After')).toEqual([
			{ backupId: 'b1', status: 'ok' },
			{
				backupId: 'b2',
				status: 'failed',
				error: {
					message: 'Backup b2 failed',
					description: 'The staging folder is not writable: check its permissions',
				},
			},
		]);
	});

	it("with onError 'continueRegularOutput', the engine passes the input on and records the node's error", async () => {
		const result = await runWorkflow(
			chain({ name: 'Throw', type: TYPE('testThrow'), onError: 'continueRegularOutput' }),
			{ nodeTypes, triggerItems: [{ backupId: 'b1' }] },
		);

		expect(result.error).toBeUndefined();
		expect(result.status).toBe('success');
		expect(result.nodeError('Throw')?.message).toBe('Always fails');
		expect(result.nodeError('Throw')?.description).toBe('By design');
		expect(result.jsonOf('After')).toEqual([{ backupId: 'b1' }]);
	});

	it('reports a credential the test did not provide as the execution error', async () => {
		const result = await runWorkflow(
			chain({
				name: 'Echo',
				type: TYPE('testEcho'),
				credentials: { testBackupApi: { id: 'missing', name: 'Nope' } },
			}),
			{ nodeTypes, credentialTypes, credentials },
		);

		expect(result.status).toBe('error');
		expect(result.error?.message).toContain('Credential with ID "missing" does not exist for type "testBackupApi"');
	});

	it('reports an expression that fails to evaluate as the execution error', async () => {
		const result = await runWorkflow(
			chain({
				name: 'Echo',
				type: TYPE('testEcho'),
				parameters: { backupId: "={{ $('No Such Node').item.json.backupId }}" },
				credentials: { testBackupApi: { id: 'cred1', name: 'Test creds' } },
			}),
			{ nodeTypes, credentialTypes, credentials },
		);

		expect(result.status).toBe('error');
		expect(result.error?.name).toBe('ExpressionError');
		expect(result.error?.message).toBe("Referenced node doesn't exist");
		expect(result.run.data.resultData.lastNodeExecuted).toBe('Echo');
		expect(result.nodeError('Echo')?.name).toBe('ExpressionError');
	});

	it('rejects a workflow whose node type the harness was not given', async () => {
		await expect(runWorkflow(chain({ name: 'Mystery', type: TYPE('notRegistered') }), { nodeTypes })).rejects.toThrow(
			`Unrecognized node type: ${TYPE('notRegistered')}`,
		);
	});
});
