/**
 * The googleapis Drive client, loaded on the first Drive call rather than with the nodes: with
 * google-auth-library and gaxios it is about 130 modules that users of other destinations would
 * otherwise load at every n8n start (test/unit/footprint.test.ts holds this).
 */
import type * as DriveModule from '@googleapis/drive';

export type DriveApi = DriveModule.drive_v3.Drive;
export type OAuthClient = InstanceType<typeof DriveModule.auth.OAuth2>;

let loading: Promise<typeof DriveModule> | undefined;

export function loadDriveModule(): Promise<typeof DriveModule> {
	loading ??= import('@googleapis/drive');
	return loading;
}
