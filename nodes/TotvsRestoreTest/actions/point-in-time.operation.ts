import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { BackupError } from '../../../core/errors';
import { formatDuration } from '../../../core/format';
import {
	chainForTarget,
	defaultScratchFolder,
	restoreTestToPointInTime,
	type PitrTarget,
} from '../../../core/sources/postgres-pitr';
import { ItemFailure, summaryLanguage } from '../../shared/run-items';
import type { RestoreTestRun } from './run';

/**
 * TOTVS Restore Test "Test to a Point in Time": the chain of point-in-time sets (TOTVS Dump's
 * PostgreSQL (Point in Time)) restored into a scratch folder, recovered by a private PostgreSQL
 * of the same major to a chosen time or the end of the newest set, checked, then removed. The
 * item reports the last transaction time actually reached and the RTO. See docs/pitr.md.
 */
const show = { show: { operation: ['pointInTime'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Recover To',
		name: 'pitrTarget',
		type: 'options',
		displayOptions: show,
		options: [
			{ name: 'A Time', value: 'time', description: 'The state of the database at that time' },
			{ name: 'End of the Newest Set', value: 'end', description: 'Everything the chain holds' },
		],
		default: 'time',
	},
	{
		displayName: 'Target Time',
		name: 'pitrTargetTime',
		type: 'dateTime',
		default: '',
		required: true,
		displayOptions: { show: { operation: ['pointInTime'], pitrTarget: ['time'] } },
		description: 'Database server time to recover to (ISO-8601, e.g. 2026-05-04T13:45:00Z)',
	},
];

/** Where the chain's sets are: the Backups Folder and Environment, or the input item's set. */
function chainLocation(
	ctx: IExecuteFunctions,
	i: number,
): { root: string; environment: string } | { setFolder: string } {
	const source = ctx.getNodeParameter('setSource', i, 'item') as string;
	if (source === 'folder')
		return {
			root: ctx.getNodeParameter('backupsFolder', i) as string,
			environment: ctx.getNodeParameter('environment', i) as string,
		};
	if (source === 'item') return { setFolder: ctx.getNodeParameter('setFolder', i) as string };
	throw new BackupError(
		'INVALID_INPUT',
		'A point-in-time restore test reads its chain from a folder, not from a destination',
		'Choose Backup Set: From a Backups Folder (the staging folder, or a mounted copy of the destination).',
	);
}

export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	_run: RestoreTestRun,
): Promise<IDataObject | ItemFailure> {
	const started = Date.now();
	const location = chainLocation(this, i);
	const targetKind = this.getNodeParameter('pitrTarget', i, 'time') as string;
	let target: PitrTarget = { end: true };
	if (targetKind === 'time') {
		const text = String(this.getNodeParameter('pitrTargetTime', i, ''));
		const time = new Date(text);
		if (!text || Number.isNaN(time.getTime()))
			throw new BackupError(
				'INVALID_INPUT',
				`Target Time "${text}" is not a time`,
				'Give an ISO-8601 time, e.g. 2026-05-04T13:45:00Z.',
			);
		target = { time };
	}
	const { chain, environment } = await chainForTarget(location, target);
	const options = this.getNodeParameter('options', i, {}) as IDataObject;
	const report = await restoreTestToPointInTime({
		chain,
		target,
		scratchFolder: String(options.scratchFolder || defaultScratchFolder()),
		countTables: (chain[0].inventory?.tables ?? [])
			.filter((t) => t.protheus)
			.slice(0, 20)
			.map((t) => ({ schema: t.schema, name: t.name })),
		log: this.logger,
		signal: this.getExecutionCancelSignal?.(),
	});
	const pt = summaryLanguage(this)(i) === 'pt-BR';
	const reached = report.reachedTransactionTime ?? (pt ? 'nenhuma após a base' : 'none after the base');
	const gap =
		report.gapMs === null ? '' : pt ? ` (${report.gapMs} ms antes do alvo)` : ` (${report.gapMs} ms before the target)`;
	const rto = formatDuration(report.rtoMs);
	const summary = report.passed
		? pt
			? `Teste de restauração até ${report.target}: OK, última transação ${reached}${gap}, RTO ${rto}`
			: `Restore test to ${report.target} passed: last transaction ${reached}${gap}, RTO ${rto}`
		: pt
			? `Teste de restauração até ${report.target} FALHOU: ${report.checks
					.filter((c) => !c.passed)
					.map((c) => c.name)
					.join(', ')}`
			: `Restore test to ${report.target} FAILED: ${report.checks
					.filter((c) => !c.passed)
					.map((c) => c.name)
					.join(', ')}`;
	const json: IDataObject = {
		backupId: chain[chain.length - 1].backupId,
		baseBackupId: report.baseBackupId,
		environment,
		engine: 'postgres-pitr',
		restoreTest: {
			passed: report.passed,
			kind: 'pointInTime',
			target: report.target,
			reachedTransactionTime: report.reachedTransactionTime,
			reachedLsn: report.reachedLsn,
			gapMs: report.gapMs,
			stoppedBefore: report.stoppedBefore,
			note: report.note,
			timeline: report.timeline,
			walBackupIds: report.walBackupIds,
			rtoMs: report.rtoMs,
			durationMs: Date.now() - started,
			timings: report.timings,
			counts: report.counts,
			checks: report.checks.map((c) => ({
				name: c.name,
				ok: c.passed,
				message: `expected ${c.expected}; found ${c.actual}`,
			})),
		},
		status: report.passed ? 'ok' : 'failed',
		summary,
	};
	this.logger.info(summary);
	if (!report.passed) return new ItemFailure(summary, report.serverLog ?? 'See the checks in the item.', json);
	return json;
}
