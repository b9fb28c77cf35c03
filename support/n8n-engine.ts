/**
 * Runs workflow JSON inside n8n's real execution engine (n8n-core's WorkflowExecute driving an
 * n8n-workflow Workflow) with this package's node and credential classes loaded, for jest.
 *
 * What is real: graph walking, parameter resolution and expressions, paired items, Continue On
 * Fail / onError, error wrapping, the node execution contexts (`this.getCredentials`,
 * `this.logger`, `this.helpers`...). What is stand-in: credential storage (plain decrypted data
 * given by the test, see HarnessCredentialsHelper), the logger (captured into the result), and
 * the two nodes-base nodes below, because n8n-nodes-base is not a dependency.
 *
 * Written against n8n-core / n8n-workflow 2.41 on Node 20; see `runWorkflow` for the 1.x notes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as n8nCore from 'n8n-core';
import { InstanceSettings, WorkflowExecute } from 'n8n-core';
import {
	Expression,
	ICredentials,
	ICredentialsHelper,
	LoggerProxy,
	NodeHelpers,
	UserError,
	Workflow,
} from 'n8n-workflow';
import type {
	ExecutionError,
	ExecutionStatus,
	ICredentialDataDecryptedObject,
	ICredentialsEncrypted,
	ICredentialType,
	IDataObject,
	IExecuteFunctions,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	INodeExecutionData,
	INodeProperties,
	INodeType,
	INodeTypeDescription,
	INodeTypes,
	IPinData,
	IRequestOptionsSimplified,
	IRun,
	IRunData,
	ITriggerFunctions,
	ITriggerResponse,
	IVersionedNodeType,
	IWorkflowBase,
	IWorkflowExecuteAdditionalData,
	IWorkflowSettings,
	IConnections,
	LogMetadata,
} from 'n8n-workflow';

/* ------------------------------------------------------------------------------------------------
 * Module resolution. The DI container and the Logger token must be the very instances n8n-core
 * uses, or `Container.set` would configure a different container than the one the engine reads.
 * They are transitive dependencies of n8n-core, so resolve them from n8n-core's location.
 * ---------------------------------------------------------------------------------------------- */

const coreRequire = createRequire(require.resolve('n8n-core'));
const { Container } = coreRequire('@n8n/di') as typeof import('@n8n/di');
// n8n 1.x (before @n8n/backend-common existed) exported Logger from n8n-core itself.
const LoggerToken = ((n8nCore as unknown as { Logger?: unknown }).Logger ??
	(coreRequire('@n8n/backend-common') as typeof import('@n8n/backend-common')).Logger) as new (
	...args: never[]
) => unknown;

/** Our package name: community node types are `<package name>.<description.name>` in workflow JSON. */
export const PACKAGE_NAME = 'n8n-nodes-totvs-backup';

/* ------------------------------------------------------------------------------------------------
 * Log capture.
 * Nodes log through `this.logger`, which n8n-core resolves as `Container.get(Logger)`; the engine
 * itself logs through n8n-workflow's LoggerProxy. Both point at one capturing logger. Lines are
 * routed to the run that emitted them with AsyncLocalStorage, so concurrent runs in one jest
 * worker do not mix their logs.
 * ---------------------------------------------------------------------------------------------- */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface LogEntry {
	level: LogLevel;
	message: string;
	metadata?: LogMetadata;
}

const logSink = new AsyncLocalStorage<LogEntry[]>();

/** JSON for log metadata that never throws (circular refs, bigint) and keeps Error messages. */
function stringifyMetadata(metadata: LogMetadata): string {
	const seen = new WeakSet<object>();
	try {
		return JSON.stringify(metadata, (_key, value: unknown) => {
			if (typeof value === 'bigint') return value.toString();
			if (value instanceof Error) {
				const { name, message, stack } = value;
				return { ...value, name, message, stack };
			}
			if (typeof value === 'object' && value !== null) {
				if (seen.has(value)) return '[Circular]';
				seen.add(value);
			}
			return value;
		});
	} catch {
		return '[unserializable metadata]';
	}
}

/** The text form tests assert on: level, message and all metadata (so secret checks cover it). */
export function formatLogEntry({ level, message, metadata }: LogEntry): string {
	const meta = metadata && Object.keys(metadata).length > 0 ? ` ${stringifyMetadata(metadata)}` : '';
	return `[${level}] ${message}${meta}`;
}

function makeLogMethod(level: LogLevel) {
	return (message: string, metadata?: LogMetadata): void => {
		const entry: LogEntry = { level, message: String(message), metadata };
		const sink = logSink.getStore();
		if (sink) sink.push(entry);
		// Lines outside any run (module load, teardown) are dropped unless asked for.
		else if (process.env.N8N_HARNESS_LOG) process.stderr.write(`${formatLogEntry(entry)}\n`);
	};
}

const capturingLogger = {
	error: makeLogMethod('error'),
	warn: makeLogMethod('warn'),
	info: makeLogMethod('info'),
	debug: makeLogMethod('debug'),
	// Services in n8n-core ask for scoped loggers; one capture point is enough for tests.
	scoped() {
		return capturingLogger;
	},
};

/* ------------------------------------------------------------------------------------------------
 * One-time engine setup (per module registry, i.e. per jest test file: jest reloads modules,
 * @n8n/di's Container included, for every test file).
 * ---------------------------------------------------------------------------------------------- */

let engineReady = false;

function ensureEngineSetup(): void {
	if (engineReady) return;

	// Two copies of n8n-workflow (ours vs n8n-core's) would break `instanceof NodeOperationError`
	// inside the engine and give two LoggerProxy singletons: fail loudly instead of subtly.
	const ours = require.resolve('n8n-workflow');
	const cores = coreRequire.resolve('n8n-workflow');
	if (ours !== cores) {
		throw new Error(`n8n-workflow is installed twice (${ours} and ${cores}); dedupe node_modules.`);
	}

	// `this.logger` in node contexts is Container.get(Logger); the real one builds winston
	// transports from GlobalConfig. Replace it with the capturing logger.
	Container.set(LoggerToken, capturingLogger);
	LoggerProxy.init(capturingLogger);

	// Every node execution context reads InstanceSettings in its constructor. The real class,
	// left to DI, would read/create ~/.n8n/config (N8N_USER_FOLDER): point it at a folder under
	// the OS temp dir instead, whose settings file (just a fixed encryption key) we write first,
	// atomically, so that n8n only reads it and parallel jest workers can share it. Nothing to
	// clean up: jest gives test files a copy of `process` whose 'exit' listeners never fire.
	// (Container.has() cannot tell whether it is set already: it is true for any @Service class.)
	const userHome = join(tmpdir(), 'n8n-engine-harness');
	const n8nFolder = join(userHome, '.n8n');
	const encryptionKey = 'n8n-engine-test-harness-key';
	const settingsFile = join(n8nFolder, 'config');
	if (!existsSync(settingsFile)) {
		mkdirSync(n8nFolder, { recursive: true });
		const partial = `${settingsFile}.${process.pid}.tmp`;
		writeFileSync(partial, JSON.stringify({ encryptionKey }));
		renameSync(partial, settingsFile);
	}
	const config = {
		enforceSettingsFilePermissions: false,
		encryptionKey,
		userHome,
		n8nFolder,
	} as unknown as ConstructorParameters<typeof InstanceSettings>[0];
	const settings = new (InstanceSettings as unknown as new (...args: unknown[]) => InstanceSettings)(
		config,
		capturingLogger,
	);
	Container.set(InstanceSettings, settings);

	// n8n-workflow 2.x can evaluate expressions in an isolated-vm / QuickJS sandbox
	// (@n8n/expression-runtime), but only after `Expression.initExpressionEngine()`, which the n8n
	// CLI calls from N8N_EXPRESSION_ENGINE. Nothing here calls it, and isolated-vm's addon is not
	// built on Node 20, so pin the legacy (tournament) evaluator explicitly: it is in-process and is
	// what n8n 1.x always used. The setter does not exist in 1.x, hence the guard.
	const expressionStatics = Expression as unknown as { setExpressionEngine?: (engine: string) => void };
	expressionStatics.setExpressionEngine?.('legacy');

	// Not set up, on purpose: BinaryDataService, OutboundHttp (this.helpers.httpRequest*), the
	// task runner, real external secrets. Our nodes pass file paths, not binary data, and use their
	// own clients; a node that needs one fails with an error naming the missing service, which is
	// the cue to add it here. ErrorReporter and TriggersAndPollers build fine from DI (they only
	// need the Logger); ErrorReporter logs node errors at error level, so they show up in `logs`.
	engineReady = true;
}

/* ------------------------------------------------------------------------------------------------
 * Test stand-ins for n8n-nodes-base nodes. n8n-nodes-base is not a dependency of this package
 * (it is huge), but workflows need a Manual Trigger to start from. These mimic the behaviour of
 * the real nodes that the engine relies on; they are NOT the real implementations.
 * ---------------------------------------------------------------------------------------------- */

// What the Manual Trigger stand-in emits in the current run (runWorkflow's `triggerItems`).
const triggerItemsByRun = new AsyncLocalStorage<IDataObject[]>();

/** Stand-in for `n8n-nodes-base.manualTrigger`: emits runWorkflow's `triggerItems` (default: one empty item). */
export class ManualTriggerStandIn implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Manual Trigger (test stand-in)',
		name: 'manualTrigger',
		group: ['trigger'],
		version: 1,
		description: 'Test stand-in for n8n-nodes-base.manualTrigger',
		maxNodes: 1,
		defaults: { name: 'When clicking ‘Execute workflow’' },
		inputs: [],
		outputs: ['main'],
		properties: [],
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		// `this` is n8n's trigger context, not this class: the run's items come from triggerItemsByRun.
		const items = triggerItemsByRun.getStore() ?? [{}];
		const manualTriggerFunction = async () => {
			this.emit([this.helpers.returnJsonArray(items)]);
		};
		return { manualTriggerFunction };
	}
}

/** Stand-in for `n8n-nodes-base.noOp`: passes its input through unchanged. */
export class NoOpStandIn implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'No Operation (test stand-in)',
		name: 'noOp',
		group: ['organization'],
		version: 1,
		description: 'Test stand-in for n8n-nodes-base.noOp',
		defaults: { name: 'No Operation, do nothing' },
		inputs: ['main'],
		outputs: ['main'],
		properties: [],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [this.getInputData()];
	}
}

export const MANUAL_TRIGGER_TYPE = 'n8n-nodes-base.manualTrigger';
export const NO_OP_TYPE = 'n8n-nodes-base.noOp';

/**
 * Keys node classes the way n8n does for an installed community package:
 * `n8n-nodes-totvs-backup.totvsDump` for a node whose description.name is `totvsDump`.
 */
export function packageNodeTypes(
	nodes: Array<INodeType | IVersionedNodeType>,
	packageName: string = PACKAGE_NAME,
): Record<string, INodeType | IVersionedNodeType> {
	const byType: Record<string, INodeType | IVersionedNodeType> = {};
	for (const node of nodes) byType[`${packageName}.${node.description.name}`] = node;
	return byType;
}

/* ------------------------------------------------------------------------------------------------
 * INodeTypes: what `Workflow` uses to find node classes by the `type` in workflow JSON.
 * ---------------------------------------------------------------------------------------------- */

class HarnessNodeTypes implements INodeTypes {
	constructor(private readonly byType: Record<string, INodeType | IVersionedNodeType>) {}

	getByName(nodeType: string): INodeType | IVersionedNodeType {
		const found = this.byType[nodeType];
		// Same wording as n8n's own loader, so tests read like real n8n failures.
		if (!found) {
			throw new UserError(`Unrecognized node type: ${nodeType}`, {
				description: `Known to this harness: ${Object.keys(this.byType).join(', ')}`,
			});
		}
		return found;
	}

	getByNameAndVersion(nodeType: string, version?: number): INodeType {
		return NodeHelpers.getVersionedNodeType(this.getByName(nodeType), version);
	}

	getKnownTypes(): IDataObject {
		return {};
	}
}

/* ------------------------------------------------------------------------------------------------
 * Credentials: n8n keeps them encrypted in its database; here the test hands over decrypted data.
 * ---------------------------------------------------------------------------------------------- */

export interface HarnessCredential {
	/** Credential type name, e.g. `totvsPostgres`. */
	type: string;
	/** Display name, as a node's `credentials.<type>.name` refers to it. */
	name: string;
	data: ICredentialDataDecryptedObject;
}

/** In-memory ICredentials, for the few engine paths that want the credential object itself. */
class InMemoryCredentials extends ICredentials {
	private plain: ICredentialDataDecryptedObject = {};

	async getData(): Promise<ICredentialDataDecryptedObject> {
		return structuredClone(this.plain);
	}

	getDataToSave(): ICredentialsEncrypted {
		return { id: this.id, name: this.name, type: this.type, data: JSON.stringify(this.plain) };
	}

	async setData(data: ICredentialDataDecryptedObject): Promise<void> {
		this.plain = structuredClone(data);
	}

	async updateData(
		toUpdate: Partial<ICredentialDataDecryptedObject>,
		toDelete: Array<keyof ICredentialDataDecryptedObject> = [],
	): Promise<void> {
		const next: ICredentialDataDecryptedObject = { ...this.plain };
		for (const [key, value] of Object.entries(toUpdate)) if (value !== undefined) next[key] = value;
		for (const key of toDelete) delete next[key as string];
		this.plain = next;
	}
}

/**
 * Serves the decrypted credential data given to `runWorkflow`, looked up by the id (or, for old
 * workflow JSON without ids, the name) in the node's `credentials` block, with the credential
 * type's property defaults filled in as n8n does. Expressions inside credential data are not
 * resolved (n8n resolves them; none of our credentials use them).
 */
export class HarnessCredentialsHelper extends ICredentialsHelper {
	private readonly types = new Map<string, ICredentialType>();
	private readonly store = new Map<string, HarnessCredential>();
	/** Only when the test listed credential types can an unknown type be an error. */
	private readonly enforceKnownTypes: boolean;

	constructor(credentialTypes: ICredentialType[] | undefined, credentials: Record<string, HarnessCredential>) {
		super();
		for (const type of credentialTypes ?? []) this.types.set(type.name, type);
		this.enforceKnownTypes = credentialTypes !== undefined;
		// Copies: updates during a run (token refresh) must not leak into the caller's fixture.
		for (const [id, credential] of Object.entries(credentials)) {
			this.store.set(id, { ...credential, data: structuredClone(credential.data) });
		}
	}

	/** Data as it is after the run (preAuthentication / token updates land here). */
	snapshot(): Record<string, HarnessCredential> {
		return Object.fromEntries(this.store);
	}

	getParentTypes(name: string): string[] {
		const parents = this.types.get(name)?.extends ?? [];
		return parents.flatMap((parent) => [parent, ...this.getParentTypes(parent)]);
	}

	isCredentialUsableByNode(credentialType: string, nodeType: string): boolean {
		const type = this.types.get(credentialType) as
			(ICredentialType & { restrictToSupportedNodes?: boolean }) | undefined;
		if (!type?.restrictToSupportedNodes) return true;
		return (type.supportedNodes ?? []).includes(nodeType);
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
		workflow?: Workflow,
		node?: INode,
	): Promise<IHttpRequestOptions> {
		const options = requestOptions as IHttpRequestOptions;
		const authenticate = this.types.get(typeName)?.authenticate;
		if (!authenticate) return options;
		if (typeof authenticate === 'function') return await authenticate(credentials, options);
		if (authenticate.type !== 'generic') return options;

		// Generic auth: `{ headers: { Authorization: '=Bearer {{$credentials.token}}' } }` and the like.
		const resolve = (value: unknown): unknown =>
			typeof value === 'string' && value.startsWith('=') && workflow && node
				? workflow.expression.getSimpleParameterValue(
						node,
						value,
						'internal',
						{ $credentials: credentials },
						undefined,
						'',
					)
				: value;
		const result: Record<string, unknown> = { ...options };
		for (const [section, entries] of Object.entries(authenticate.properties)) {
			if (typeof entries !== 'object' || entries === null) continue;
			const current = (result[section] as Record<string, unknown> | undefined) ?? {};
			const resolved: Record<string, unknown> = { ...current };
			for (const [key, value] of Object.entries(entries as Record<string, unknown>)) {
				resolved[String(resolve(key))] = resolve(value);
			}
			result[section] = resolved;
		}
		return result as unknown as IHttpRequestOptions;
	}

	async preAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		node: INode,
		credentialsExpired: boolean,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const type = this.types.get(typeName);
		if (!type?.preAuthentication) return undefined;
		// As in n8n: only when the expirable field (e.g. a session token) is empty or has expired.
		const expirable = type.properties.find((property) => property.typeOptions?.expirable === true);
		if (
			expirable &&
			credentials[expirable.name] !== '' &&
			credentials[expirable.name] !== undefined &&
			!credentialsExpired
		) {
			return undefined;
		}
		const output = await type.preAuthentication.call(helpers, credentials);
		const updated = { ...credentials, ...output } as ICredentialDataDecryptedObject;
		const details = node.credentials?.[typeName];
		if (details) await this.updateCredentials(details, typeName, updated);
		return updated;
	}

	async runPreAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const type = this.types.get(typeName);
		if (!type?.preAuthentication) return undefined;
		return {
			...credentials,
			...(await type.preAuthentication.call(helpers, credentials)),
		} as ICredentialDataDecryptedObject;
	}

	async getCredentials(nodeCredentials: INodeCredentialsDetails, type: string): Promise<ICredentials> {
		const [id, stored] = this.find(nodeCredentials, type);
		const credentials = new InMemoryCredentials({ id, name: stored.name }, type);
		await credentials.setData(stored.data);
		return credentials;
	}

	async getDecrypted(
		_additionalData: IWorkflowExecuteAdditionalData,
		nodeCredentials: INodeCredentialsDetails,
		type: string,
	): Promise<ICredentialDataDecryptedObject> {
		const [, stored] = this.find(nodeCredentials, type);
		return this.withDefaults(type, structuredClone(stored.data));
	}

	async updateCredentials(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		const [id, stored] = this.find(nodeCredentials, type);
		this.store.set(id, { ...stored, data: structuredClone(data) });
	}

	async updateCredentialsOauthTokenData(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		await this.updateCredentials(nodeCredentials, type, data);
	}

	getCredentialsProperties(type: string): INodeProperties[] {
		const own = this.types.get(type)?.properties ?? [];
		const inherited = this.getParentTypes(type).flatMap((parent) => this.types.get(parent)?.properties ?? []);
		// Own properties override inherited ones of the same name.
		const ownNames = new Set(own.map((property) => property.name));
		return [...inherited.filter((property) => !ownNames.has(property.name)), ...own];
	}

	private find(nodeCredentials: INodeCredentialsDetails, type: string): [string, HarnessCredential] {
		if (this.enforceKnownTypes && !this.types.has(type)) {
			throw new UserError(`Unrecognized credential type: ${type}`, {
				description: `Pass its class in runWorkflow's credentialTypes. Known: ${[...this.types.keys()].join(', ')}`,
			});
		}
		const { id, name } = nodeCredentials;
		if (id) {
			const stored = this.store.get(id);
			if (stored && stored.type === type) return [id, stored];
		} else {
			const byName = [...this.store].find(([, credential]) => credential.type === type && credential.name === name);
			if (byName) return byName;
		}
		// Same wording as n8n's CredentialsHelper.
		throw new UserError(`Credential with ID "${id ?? name}" does not exist for type "${type}".`);
	}

	private withDefaults(type: string, data: ICredentialDataDecryptedObject): ICredentialDataDecryptedObject {
		const properties = this.getCredentialsProperties(type);
		if (properties.length === 0) return data;
		// n8n fills absent fields from the credential type's defaults (hidden ones too).
		const withDefaults = NodeHelpers.getNodeParameters(properties, data as never, true, false, null, null);
		return { ...(withDefaults as ICredentialDataDecryptedObject), ...data };
	}
}

/* ------------------------------------------------------------------------------------------------
 * runWorkflow
 * ---------------------------------------------------------------------------------------------- */

/** A workflow JSON node; id, position, typeVersion and parameters are filled in when absent. */
export type WorkflowNodeInput = Omit<INode, 'id' | 'position' | 'typeVersion' | 'parameters'> &
	Partial<Pick<INode, 'id' | 'position' | 'typeVersion' | 'parameters'>>;

export interface WorkflowInput {
	nodes: WorkflowNodeInput[];
	connections: IConnections;
	settings?: IWorkflowSettings;
	/** Pinned output per node name, as in n8n's editor: the node is not run, its pin is its output. */
	pinData?: IPinData;
	name?: string;
	id?: string;
}

export interface RunWorkflowOptions {
	/** Keyed by the node `type` used in workflow JSON, e.g. `n8n-nodes-totvs-backup.totvsDump`. */
	nodeTypes: Record<string, INodeType | IVersionedNodeType>;
	/** This package's credential classes (instances); enables defaults and type checks. */
	credentialTypes?: ICredentialType[];
	/** Decrypted credential data by credential id (the `id` in a node's `credentials` block). */
	credentials?: Record<string, HarnessCredential>;
	/** What the Manual Trigger stand-in emits; default one empty item, like the real node. */
	triggerItems?: IDataObject[];
	/** Name of the node to start from; default the workflow's trigger. */
	startNode?: string;
}

export interface WorkflowRunResult {
	/** Everything the engine returned. */
	run: IRun;
	status: ExecutionStatus;
	runData: IRunData;
	/**
	 * The execution's error: the error of the node that stopped the workflow, if any. n8n 2.x stores
	 * a plain-object copy of what was thrown (`{ ...error, message, stack }`), so match on `name`,
	 * `message`, `description`, `node.name`, not `instanceof`; a plain `Error` loses its `name`.
	 */
	error?: ExecutionError;
	/** Node names in the order they finished. */
	executionOrder: string[];
	/** Items a node emitted on one output (default: first output, first run). [] if it emitted none. */
	outputOf(nodeName: string, outputIndex?: number, runIndex?: number): INodeExecutionData[];
	/** Same as outputOf, `.json` only. */
	jsonOf(nodeName: string, outputIndex?: number, runIndex?: number): IDataObject[];
	/** The error recorded on a node's run (also set when Continue On Fail did not apply). */
	nodeError(nodeName: string, runIndex?: number): ExecutionError | undefined;
	/** Log lines (`[level] message {metadata}`) from nodes and from the engine during this run. */
	logs: string[];
	logEntries: LogEntry[];
	/** Credential data after the run (shows preAuthentication / token updates). */
	credentials: Record<string, HarnessCredential>;
}

let executionCounter = 0;

function normalizeNodes(nodes: WorkflowNodeInput[]): INode[] {
	return nodes.map((node, index) => ({
		...structuredClone(node),
		id: node.id ?? `harness-node-${index}`,
		position: node.position ?? [index * 200, 0],
		typeVersion: node.typeVersion ?? 1,
		parameters: structuredClone(node.parameters ?? {}),
	}));
}

function pickStartNode(workflow: Workflow, nodes: INode[], requested: string | undefined): INode {
	if (requested) {
		const node = workflow.getNode(requested);
		if (!node) throw new Error(`Start node "${requested}" is not in the workflow`);
		return node;
	}
	const manual = nodes.find((node) => node.type === MANUAL_TRIGGER_TYPE && !node.disabled);
	const start = manual ?? workflow.getStartNode();
	if (!start) throw new Error('No node to start the workflow from: add an n8n-nodes-base.manualTrigger node');
	return start;
}

/**
 * Runs a workflow in n8n's engine in `manual` mode (what `n8n execute` and the editor's
 * "Execute workflow" use) and returns what every node produced, the execution error and the logs.
 * Node failures do not reject: they come back in `error` / `nodeError()` with `status: 'error'`.
 * It rejects only for harness misuse (unknown node type at workflow construction, no start node).
 *
 * n8n 1.x notes (not exercised here): `WorkflowExecute.run` took positional arguments
 * (workflow, startNode, destinationNode, pinData), handled below; the lifecycle hooks object was
 * n8n-workflow's `WorkflowHooks` before n8n-core's `ExecutionLifecycleHooks` (~1.80), which this
 * harness does not build; older 1.x used `typedi` instead of `@n8n/di`.
 */
export async function runWorkflow(input: WorkflowInput, opts: RunWorkflowOptions): Promise<WorkflowRunResult> {
	ensureEngineSetup();

	const nodeTypes = new HarnessNodeTypes({
		[MANUAL_TRIGGER_TYPE]: new ManualTriggerStandIn(),
		[NO_OP_TYPE]: new NoOpStandIn(),
		...opts.nodeTypes,
	});
	const nodes = normalizeNodes(input.nodes);
	const workflowId = input.id ?? 'harness-workflow';
	const settings: IWorkflowSettings = { executionOrder: 'v1', ...input.settings };

	const workflow = new Workflow({
		id: workflowId,
		name: input.name ?? 'Harness workflow',
		nodes,
		connections: input.connections,
		active: false,
		nodeTypes,
		settings,
		pinData: input.pinData,
	});
	const startNode = pickStartNode(workflow, nodes, opts.startNode);

	const executionId = `harness-${++executionCounter}`;
	const credentialsHelper = new HarnessCredentialsHelper(opts.credentialTypes, opts.credentials ?? {});
	const workflowData: IWorkflowBase = {
		id: workflowId,
		name: workflow.name ?? '',
		active: false,
		isArchived: false,
		activeVersionId: null,
		createdAt: new Date(),
		updatedAt: new Date(),
		nodes,
		connections: input.connections,
		settings,
	};

	const executionOrder: string[] = [];
	const hooks = new n8nCore.ExecutionLifecycleHooks('manual', executionId, workflowData);
	hooks.addHandler('nodeExecuteAfter', (nodeName) => {
		executionOrder.push(nodeName);
	});

	const additionalData: IWorkflowExecuteAdditionalData = {
		hooks,
		credentialsHelper,
		// Backs `$secrets` in expressions; with no manager set it knows no secrets.
		externalSecretsProxy: new n8nCore.ExternalSecretsProxy(),
		executionId,
		workflowId,
		userId: 'harness-user',
		currentNodeExecutionIndex: 0,
		variables: {},
		restApiUrl: 'http://localhost:5678/rest',
		instanceBaseUrl: 'http://localhost:5678/',
		formBaseUrl: 'http://localhost:5678/form',
		formWaitingBaseUrl: 'http://localhost:5678/form-waiting',
		formTestBaseUrl: 'http://localhost:5678/form-test',
		webhookBaseUrl: 'http://localhost:5678/webhook',
		webhookWaitingBaseUrl: 'http://localhost:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://localhost:5678/webhook-test',
		mcpBaseUrl: 'http://localhost:5678/mcp',
		mcpTestBaseUrl: 'http://localhost:5678/mcp-test',
		logAiEvent: () => {},
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		executeWorkflow: async () => {
			throw new Error('Sub-workflows are not supported by the test harness');
		},
		startRunnerTask: async () => {
			throw new Error('Task runners (Code node) are not supported by the test harness');
		},
	};

	const logEntries: LogEntry[] = [];
	const triggerItems = opts.triggerItems ?? [{}];
	const workflowExecute = new WorkflowExecute(additionalData, 'manual');

	const run = await logSink.run(logEntries, () =>
		triggerItemsByRun.run(triggerItems, async () => {
			// n8n 2.x: run({ workflow, startNode, pinData }); 1.x: run(workflow, startNode, destination, pinData).
			const runFn = workflowExecute.run as unknown as (...args: unknown[]) => Promise<IRun>;
			return runFn.length > 1
				? await runFn.call(workflowExecute, workflow, startNode, undefined, input.pinData)
				: await runFn.call(workflowExecute, { workflow, startNode, pinData: input.pinData });
		}),
	);

	const runData = run.data.resultData.runData;
	const taskOf = (nodeName: string, runIndex: number) => {
		const tasks = runData[nodeName];
		if (!tasks) {
			throw new Error(`Node "${nodeName}" did not run. Nodes that ran: ${Object.keys(runData).join(', ') || 'none'}`);
		}
		const task = tasks[runIndex];
		if (!task) throw new Error(`Node "${nodeName}" has no run #${runIndex} (it ran ${tasks.length} time(s))`);
		return task;
	};
	const outputOf = (nodeName: string, outputIndex = 0, runIndex = 0): INodeExecutionData[] =>
		taskOf(nodeName, runIndex).data?.main?.[outputIndex] ?? [];

	return {
		run,
		status: run.status,
		runData,
		error: run.data.resultData.error,
		executionOrder,
		outputOf,
		jsonOf: (nodeName, outputIndex = 0, runIndex = 0) =>
			outputOf(nodeName, outputIndex, runIndex).map((item) => item.json),
		nodeError: (nodeName, runIndex = 0) => taskOf(nodeName, runIndex).error,
		logs: logEntries.map(formatLogEntry),
		logEntries,
		credentials: credentialsHelper.snapshot(),
	};
}
