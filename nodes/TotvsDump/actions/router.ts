import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { withSetKeys } from '../../../core/backup-set/set-keys';
import { readBackupKeys } from '../../shared/backup-keys';
import { runOperation, type NodeOperation } from '../../shared/run-items';
import * as files from './files.operation';
import * as postgres from './postgres.operation';
import * as postgresPitr from './postgres-pitr.operation';
import * as restorePoint from './restore-point.operation';
import { openDumpRun, type DumpRun } from './run';
import * as sqlserver from './sqlserver.operation';

/** TOTVS Dump's "operations" are its sources: the Source parameter picks one. */
export const sources: Record<
	'postgres' | 'sqlserver' | 'protheusFiles' | 'postgresAndFiles' | 'postgresPitr',
	NodeOperation<DumpRun>
> = {
	postgres,
	sqlserver,
	protheusFiles: files,
	postgresAndFiles: restorePoint,
	postgresPitr,
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const source = this.getNodeParameter('source', 0) as keyof typeof sources;
	// Sealing (issue 12): keys read and checked before any set is written; every set of this
	// execution is then encrypted and signed by the set writer. The dump reads only sets of its
	// own staging folder (a chain's parent): unsigned ones made before signing was on are accepted,
	// so a chain that began in the clear meets the set writer's "make a full first", not "no set".
	// Every source seals ("Encrypt and Sign"; docs/sealing.md): a restore point is two ordinary
	// sets sealed under the same keys, with the halves' own refusals.
	const keys = await readBackupKeys(this, 'encryptAndSign', { encrypt: true, sign: true, allowUnsigned: true });
	return withSetKeys(keys, () => runOperation(this, 'TOTVS Dump', sources[source], openDumpRun(this)));
}
