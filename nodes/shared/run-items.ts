import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';
import { isBackupError } from '../../core/errors';
import { isFailedItem } from './backup-item';
import { failureSummary, type Language } from './summary';

/**
 * A result that failed but still has something to report (a verification with its checks):
 * returned (or thrown) by a handler so the item carries the report with status 'failed'.
 * Returning it keeps node execute() code throwing only n8n errors.
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
): Promise<INodeExecutionData[][]> {
	return forEachBackupItemSets(ctx, what, language, async (item, itemIndex) => [await handle(item, itemIndex)]);
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
	handle: (item: INodeExecutionData, itemIndex: number) => Promise<Array<IDataObject | Error>>,
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
		let results: Array<IDataObject | Error>;
		try {
			results = await handle(item, itemIndex);
		} catch (error) {
			results = [error instanceof Error ? error : new Error(String(error))];
		}
		for (const result of results) {
			if (!(result instanceof Error)) {
				output.push({ json: { ...item.json, ...result }, pairedItem });
				continue;
			}
			const nodeError = toNodeError(ctx, result, itemIndex);
			if (!ctx.continueOnFail()) throw nodeError;
			output.push({
				json: {
					...item.json,
					summary: failureSummary(what, nodeError.message, safeLanguage(language, itemIndex)),
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

function safeLanguage(language: (i: number) => Language, itemIndex: number): Language {
	try {
		return language(itemIndex);
	} catch {
		return 'en';
	}
}

/** "a, b ,c" -> ['a','b','c'] for pattern lists typed in one field. */
export const splitList = (value: unknown): string[] =>
	String(value ?? '')
		.split(/[,\n]/)
		.map((s) => s.trim())
		.filter(Boolean);
