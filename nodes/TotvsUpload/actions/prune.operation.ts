import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { pruneSets } from '../../../core/upload/set-transfer';
import { summaryLanguage } from '../../shared/run-items';
import { pruneSummary } from '../summaries';
import type { UploadRun } from './run';

const show = { show: { operation: ['prune'] } };

const keep = (displayName: string, name: string, fallback: number, description: string): INodeProperties => ({
	displayName,
	name,
	type: 'number',
	typeOptions: { minValue: 0 },
	default: fallback,
	description,
	displayOptions: show,
});

export const description: INodeProperties[] = [
	{
		displayName: 'Dry Run',
		name: 'dryRun',
		type: 'boolean',
		default: true,
		description: 'Whether to only report what would be deleted and why. Turn off to delete.',
		displayOptions: show,
	},
	keep('Keep Last', 'keepLast', 7, 'Keep this many newest sets'),
	keep('Keep Daily', 'keepDaily', 7, 'Keep the newest set of each of this many most recent days that have one'),
	keep(
		'Keep Weekly',
		'keepWeekly',
		4,
		'Keep the newest set of each of this many most recent weeks (ISO weeks, Monday to Sunday)',
	),
	keep('Keep Monthly', 'keepMonthly', 12, 'Keep the newest set of each of this many most recent months'),
	keep('Keep Yearly', 'keepYearly', 0, 'Keep the newest set of each of this many most recent years'),
	keep('Minimum Age (Days)', 'minimumAgeDays', 2, 'Never delete a set younger than this, whatever the rules above say'),
];

/** Applies the retention policy to the environment on the destination (or, on a dry run, only plans it). */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: UploadRun,
): Promise<IDataObject> {
	const destination = await run.destination(i);
	const environment = run.environment(i, true);
	const number = (name: string) => this.getNodeParameter(name, i, 0) as number;
	const result = await pruneSets(destination, {
		environment,
		dryRun: this.getNodeParameter('dryRun', i, true) as boolean,
		policy: {
			keepLast: number('keepLast'),
			keepDaily: number('keepDaily'),
			keepWeekly: number('keepWeekly'),
			keepMonthly: number('keepMonthly'),
			keepYearly: number('keepYearly'),
			minimumAgeDays: number('minimumAgeDays'),
			unfinishedAfterHours: run.option(i, 'unfinishedAfterHours', 24),
			timeZone: run.option(i, 'timeZone', '') || this.getTimezone(),
		},
		lock: await run.lock(i),
		logger: this.logger,
	});
	const language = summaryLanguage(this)(i);
	const summary = pruneSummary(environment, destination.describe(), result, language);
	const text = (reason: { text: string; textPt: string }) => (language === 'pt-BR' ? reason.textPt : reason.text);
	this.logger.info(summary);
	const all = [
		...result.plan.sets.map((d) => ({
			backupId: d.backupId,
			type: d.type,
			startedAt: d.startedAt,
			bytes: d.bytes,
			action: d.action,
			rules: d.reasons.map((r) => r.rule),
			reasons: d.reasons.map(text),
		})),
		...result.plan.unfinished.map((u) => ({
			backupId: u.backupId,
			type: 'unfinished',
			startedAt: u.modifiedAt,
			bytes: u.bytes,
			action: u.action,
			rules: [u.reason.rule],
			reasons: [text(u.reason)],
		})),
	];
	return {
		prune: {
			destination: destination.describe(),
			environment,
			dryRun: result.dryRun,
			deleteCount: result.plan.deleteCount,
			deleteBytes: result.plan.deleteBytes,
			keepCount: result.plan.keepCount,
			deleted: result.deleted,
			toDelete: all.filter((d) => d.action === 'delete'),
			kept: all.filter((d) => d.action === 'keep'),
			// Folders Prune saw but may not touch (not provably ours) and sets whose manifest is invalid.
			ignored: result.ignored,
			invalid: result.invalid,
			lockWaitMs: result.lockWaitMs,
		},
		status: 'ok',
		summary,
	};
}

/**
 * The prune section with nothing known. `deleted` lists nothing: core does not report the sets a
 * failing prune removed before it failed (each is logged as "Pruned …").
 */
export function failed(this: IExecuteFunctions, i: number, _item: INodeExecutionData, run: UploadRun): IDataObject {
	return {
		prune: {
			destination: run.where(i),
			environment: String(this.getNodeParameter('environment', i, '') ?? '').trim() || null,
			dryRun: this.getNodeParameter('dryRun', i, true) as boolean,
			deleteCount: null,
			deleteBytes: null,
			keepCount: null,
			deleted: [],
			toDelete: [],
			kept: [],
			ignored: [],
			invalid: [],
			lockWaitMs: null,
		},
	};
}
