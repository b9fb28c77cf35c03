/**
 * Names of the databases a restore makes, the same for every engine, so a DBA sees at once what
 * they are and that this package made them.
 */

/** Scratch databases of Restore Test. */
export const SCRATCH_PREFIX = 'totvs_rt_';
/** Where the Restore operation builds a set before putting it under the target's name. */
export const STAGING_PREFIX = 'totvs_rs_';
