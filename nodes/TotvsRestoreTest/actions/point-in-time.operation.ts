import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { formatDuration } from '../../../core/format';
import { chainForTarget, defaultScratchFolder, restoreTestToPointInTime } from '../../../core/sources/postgres-pitr';
import { pitrTargetProperties, readPitrLocation, readPitrTarget } from '../../shared/pitr-parameters';
import { ItemFailure, summaryLanguage } from '../../shared/run-items';
import type { RestoreTestRun } from './run';

/**
 * TOTVS Restore Test "Test to a Point in Time": the chain of point-in-time sets (TOTVS Dump's
 * PostgreSQL (Point in Time)) restored into a scratch folder, recovered by a private PostgreSQL
 * of the same major to a chosen time or the end of the newest set, checked, then removed. The
 * item reports the last transaction time actually reached and the RTO. See docs/pitr.md.
 */
export const description: INodeProperties[] = pitrTargetProperties('pointInTime');

export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	_run: RestoreTestRun,
): Promise<IDataObject | ItemFailure> {
	const started = Date.now();
	const location = readPitrLocation(this, i);
	const target = readPitrTarget(this, i);
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
