import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { openRestoreRun, type RestoreRun } from '../../shared/restore-run';

/**
 * What TOTVS Restore Test's items share during one execution: the restore run both restore
 * nodes have (nodes/shared/restore-run.ts), and the restore-test record each item wrote on its
 * destination, for its failed item too.
 */
export interface RestoreTestRun extends RestoreRun {
	/** Item index -> where its restore-test record was written (`{ destination, remotePath }`). */
	records: Map<number, IDataObject>;
}

export function openRestoreTestRun(ctx: IExecuteFunctions): RestoreTestRun {
	return { ...openRestoreRun(ctx), records: new Map() };
}
