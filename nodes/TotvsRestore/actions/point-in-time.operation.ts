import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { formatDuration } from '../../../core/format';
import { chainForTarget, restoreToPointInTime } from '../../../core/sources/postgres-pitr';
import { pitrTargetProperties, readPitrLocation, readPitrTarget } from '../../shared/pitr-parameters';
import type { RestoreRun } from '../../shared/restore-run';
import { summaryLanguage } from '../../shared/run-items';

/**
 * TOTVS Restore "Restore to a Point in Time": a PostgreSQL data folder recovered to a chosen time
 * (or the end of the newest set) from a chain of point-in-time sets, for the DBA to put into
 * service with the runbook the item carries. It never writes over anything: the data folder must
 * be new or empty (a running cluster's never is). See docs/pitr.md.
 */
export const description: INodeProperties[] = [
	...pitrTargetProperties('pointInTime'),
	{
		displayName: 'Data Folder',
		name: 'pitrDataFolder',
		type: 'string',
		default: '',
		required: true,
		placeholder: '/var/lib/postgresql/15/restored',
		displayOptions: { show: { operation: ['pointInTime'] } },
		description:
			'New (or empty) folder that becomes the recovered PostgreSQL data folder. Its parent must exist. Never a running cluster’s folder: a folder that is not empty is refused.',
	},
];

export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	_run: RestoreRun,
): Promise<IDataObject> {
	const target = readPitrTarget(this, i);
	const { chain, environment } = await chainForTarget(readPitrLocation(this, i), target);
	const result = await restoreToPointInTime({
		chain,
		target,
		dataFolder: this.getNodeParameter('pitrDataFolder', i) as string,
		log: this.logger,
		signal: this.getExecutionCancelSignal?.(),
	});
	const pt = summaryLanguage(this)(i) === 'pt-BR';
	const reached = result.reachedTransactionTime ?? (pt ? 'nenhuma após a base' : 'none after the base');
	const summary = pt
		? `Pasta de dados ${result.dataFolder} recuperada até ${result.target} (última transação ${reached}) em ${formatDuration(result.durationMs)}; siga o roteiro para colocá-la em serviço`
		: `Data folder ${result.dataFolder} recovered to ${result.target} (last transaction ${reached}) in ${formatDuration(result.durationMs)}; follow the runbook to put it into service`;
	this.logger.info(summary);
	return {
		backupId: chain[chain.length - 1].backupId,
		baseBackupId: result.baseBackupId,
		environment,
		engine: 'postgres-pitr',
		restore: {
			kind: 'pointInTime',
			dataFolder: result.dataFolder,
			target: result.target,
			reachedTransactionTime: result.reachedTransactionTime,
			reachedLsn: result.reachedLsn,
			timeline: result.timeline,
			note: result.note,
			walBackupIds: result.walBackupIds,
			postgresVersion: result.postgresVersion,
			owner: result.owner,
			durationMs: result.durationMs,
			runbook: result.runbook,
		},
		status: 'ok',
		summary,
	};
}
