import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';
import { isBackupError } from '../../core/errors';
import { sweepStaleSecretFoldersOccasionally } from '../../core/secret-folders';
import { isFailedItem, unknownSetFields } from './backup-item';
import { failureSummary, type Language } from './summary';

/**
 * A result that failed but still has something to report (a verification with its checks):
 * returned (or thrown) by a handler so the item carries the report with status 'failed'.
 * Returning it keeps node execute() code throwing only n8n errors. `json` holds the fields a
 * success would have, with the failure's values (no failedFields are added to it).
 */
export class ItemFailure extends Error {
	constructor(
		message: string,
		readonly description: string,
		readonly json: IDataObject,
	) {
		super(message);
	}
}

/**
 * An output item of its own rather than the input's fields plus these, still paired with the
 * input item: TOTVS Upload's List emits one per set found.
 */
export class SeparateItem {
	constructor(readonly json: IDataObject) {}
}

export type ItemResult = IDataObject | ItemFailure | SeparateItem | Error;

/**
 * The fields a failed item gets, beyond the input's: what a success of the operation would
 * have added (its section with ok / verified false, the set it was asked about), so an
 * expression after a failure reads null or false, never undefined. `startedAt`: when the item began.
 */
export type FailedFields = (
	item: INodeExecutionData,
	itemIndex: number,
	startedAt: Date,
) => IDataObject | Promise<IDataObject>;

function toNodeError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	if (error instanceof ItemFailure || isBackupError(error)) {
		const nodeError = new NodeOperationError(ctx.getNode(), error.message, {
			itemIndex,
			description: error instanceof ItemFailure ? error.description : error.hint,
		});
		// n8n swaps messages that mention ECONNREFUSED, EACCES… for generic sentences without
		// the host or folder; ours already say what failed and where, so keep them.
		nodeError.message = error.message;
		return nodeError;
	}
	return new NodeOperationError(ctx.getNode(), error as Error, { itemIndex });
}

/**
 * The loop every TOTVS node runs: one output item per input item (pairedItem set), failed
 * items from earlier nodes passed through untouched, and errors either thrown as
 * NodeOperationError or, with Continue On Fail, emitted as a failed item.
 */
export async function forEachBackupItem(
	ctx: IExecuteFunctions,
	what: string,
	language: (itemIndex: number) => Language,
	handle: (item: INodeExecutionData, itemIndex: number) => Promise<IDataObject | ItemFailure>,
	failed?: FailedFields,
): Promise<INodeExecutionData[][]> {
	return forEachBackupItemSets(ctx, what, language, async (item, itemIndex) => [await handle(item, itemIndex)], failed);
}

/**
 * forEachBackupItem for handlers that make several sets from one input item (a restore point:
 * database, then files): one output item per entry, in order, each paired with the input. An
 * entry that is an Error is reported like a thrown one, after the sets before it.
 */
export async function forEachBackupItemSets(
	ctx: IExecuteFunctions,
	what: string,
	language: (itemIndex: number) => Language,
	handle: (item: INodeExecutionData, itemIndex: number) => Promise<ItemResult[]>,
	failed?: FailedFields,
): Promise<INodeExecutionData[][]> {
	const items = ctx.getInputData();
	const output: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		const item = items[itemIndex];
		const pairedItem = { item: itemIndex };
		if (isFailedItem(item.json)) {
			output.push({ json: item.json, pairedItem });
			continue;
		}
		const startedAt = new Date();
		let results: ItemResult[];
		try {
			results = await handle(item, itemIndex);
		} catch (error) {
			results = [error instanceof Error ? error : new Error(String(error))];
		}
		for (const result of results) {
			if (result instanceof SeparateItem) {
				output.push({ json: result.json, pairedItem });
				continue;
			}
			if (!(result instanceof Error)) {
				output.push({ json: { ...item.json, ...result }, pairedItem });
				continue;
			}
			const nodeError = toNodeError(ctx, result, itemIndex);
			if (!ctx.continueOnFail()) throw nodeError;
			output.push({
				json: {
					// The set fields first, so the item has them even when the input had none.
					...unknownSetFields(),
					...item.json,
					...(result instanceof ItemFailure ? {} : await failedFieldsOf(failed, item, itemIndex, startedAt)),
					summary: failureSummary(
						what,
						nodeError.message,
						safeLanguage(language, itemIndex),
						isBackupError(result) ? result.code : undefined,
					),
					...(result instanceof ItemFailure ? result.json : {}),
					status: 'failed',
					error: { message: nodeError.message, description: nodeError.description ?? '' },
				},
				pairedItem,
			});
		}
	}
	return [output];
}

/** The failed item's own fields; a failure to work them out must not hide the error being reported. */
async function failedFieldsOf(
	failed: FailedFields | undefined,
	item: INodeExecutionData,
	itemIndex: number,
	startedAt: Date,
): Promise<IDataObject> {
	try {
		return (await failed?.(item, itemIndex, startedAt)) ?? {};
	} catch {
		return {};
	}
}

function safeLanguage(language: (i: number) => Language, itemIndex: number): Language {
	try {
		return language(itemIndex);
	} catch {
		return 'en';
	}
}

/**
 * One operation of a node in n8n's action layout (as n8n's Google Drive v2 node): the parameters
 * it shows (`description`, each with displayOptions for it) and what it does with one input item.
 * `Run` is what the node's router opens once per execution and shares between items (a
 * credential read once, destination connections).
 */
export interface NodeOperation<Run> {
	description: INodeProperties[];
	execute(
		this: IExecuteFunctions,
		itemIndex: number,
		item: INodeExecutionData,
		run: Run,
	): Promise<ItemResult | ItemResult[]>;
	/** The fields a success would add, with failure values (see FailedFields). */
	failed?(
		this: IExecuteFunctions,
		itemIndex: number,
		item: INodeExecutionData,
		run: Run,
		startedAt: Date,
	): IDataObject | Promise<IDataObject>;
}

/**
 * Runs an operation over the input items with the loop above: what a node's router calls. First,
 * the secret folders a killed worker left on this host are swept (see sweepSecretFolders).
 */
export async function runOperation<Run>(
	ctx: IExecuteFunctions,
	what: string,
	operation: NodeOperation<Run>,
	run: Run,
	language: (itemIndex: number) => Language = summaryLanguage(ctx),
): Promise<INodeExecutionData[][]> {
	await sweepSecretFolders(ctx);
	return forEachBackupItemSets(
		ctx,
		what,
		language,
		async (item, i) => {
			const result = await operation.execute.call(ctx, i, item, run);
			return Array.isArray(result) ? result : [result];
		},
		operation.failed && ((item, i, startedAt) => operation.failed!.call(ctx, i, item, run, startedAt)),
	);
}

/**
 * Issue 17: a worker killed with SIGKILL leaves its private temporary folders (an SSH key, a
 * pgpass) behind; the next start of any TOTVS node removes those whose owner is gone, at most
 * once per process every few minutes. Best effort: a failure never fails the node.
 */
async function sweepSecretFolders(ctx: IExecuteFunctions): Promise<void> {
	try {
		const removed = await sweepStaleSecretFoldersOccasionally();
		if (removed.length > 0)
			ctx.logger.info(
				`Removed ${removed.length} temporary secret folder(s) left by a stopped process: ${removed.join(', ')}`,
			);
	} catch (error) {
		ctx.logger.debug(`Sweeping stale temporary secret folders failed: ${(error as Error).message}`);
	}
}

/** The "Summary Language" option of item i (every node has it under Options). */
export const summaryLanguage =
	(ctx: IExecuteFunctions) =>
	(itemIndex: number): Language =>
		ctx.getNodeParameter('options.language', itemIndex, 'en') as Language;

/** "a, b ,c" -> ['a','b','c'] for pattern lists typed in one field. */
export const splitList = (value: unknown): string[] =>
	String(value ?? '')
		.split(/[,\n]/)
		.map((s) => s.trim())
		.filter(Boolean);
