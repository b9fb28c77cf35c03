import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * A Google Drive folder reached as a Google user through n8n's own OAuth2 flow: the user pastes
 * the client ID and secret of an OAuth client of their Google Cloud project and clicks "Sign in
 * with Google"; n8n keeps the tokens (`oauthTokenData`). The nodes hand the refresh token to
 * core, which gets its own access tokens, so a backup running for hours outlives any one token.
 *
 * - Extends `googleOAuth2Api` (from n8n-nodes-base, present in every n8n) for the branded Google
 *   button; `oAuth2Api` is listed too, which it is anyway through that parent, so tools that only
 *   look at the direct parents (the community-node linter) know it is an OAuth2 credential.
 *   All the Google settings are repeated here so nothing depends on that parent's field list.
 * - `access_type=offline&prompt=consent`: Google issues a refresh token only for offline access,
 *   and on a second sign-in only when the consent screen is shown again.
 * - Scope `drive`, not `drive.file`: drive.file reaches only files this OAuth client created or
 *   the user opened with it. The folder is chosen by ID (made in Drive's own UI), and List,
 *   Download and Prune must see every set and lock in it, including those uploaded by another
 *   execution's credential, a service account, the refresh-token credential or another n8n.
 * - No credential test: n8n never offers a Test button for OAuth2 credentials; the sign-in
 *   itself is the test (n8n's own Google credentials do the same).
 * - Exports only the class: loaders instantiate every export of a credential file.
 */
export class TotvsGoogleDriveOAuth2Api implements ICredentialType {
	name = 'totvsGoogleDriveOAuth2Api';

	extends = ['oAuth2Api', 'googleOAuth2Api'];

	displayName = 'TOTVS Google Drive OAuth2 API';

	icon = { light: 'file:totvsGoogleDriveApi.svg', dark: 'file:totvsGoogleDriveApi.dark.svg' } as const;

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-totvs-backup#google-drive';

	properties: INodeProperties[] = [
		{
			displayName:
				'Use an OAuth client of type "Web application" from your Google Cloud project (APIs &amp; Services → Credentials), with the Google Drive API enabled and the OAuth Redirect URL above as an authorized redirect URI. Access asked for: all of your Google Drive (the drive scope), because List, Download and Prune must see sets uploaded by any credential, not only by this one.',
			name: 'notice',
			type: 'notice',
			default: '',
		},
		{ displayName: 'Grant Type', name: 'grantType', type: 'hidden', default: 'authorizationCode' },
		{
			displayName: 'Authorization URL',
			name: 'authUrl',
			type: 'hidden',
			default: 'https://accounts.google.com/o/oauth2/v2/auth',
		},
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'hidden',
			default: 'https://oauth2.googleapis.com/token',
		},
		{ displayName: 'Scope', name: 'scope', type: 'hidden', default: 'https://www.googleapis.com/auth/drive' },
		{
			displayName: 'Auth URI Query Parameters',
			name: 'authQueryParameters',
			type: 'hidden',
			default: 'access_type=offline&prompt=consent',
		},
		{ displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'body' },
		// Not editable in the UI; a stored credential may point it at a proxy or a Drive emulator.
		{ displayName: 'API Base URL', name: 'apiBaseUrl', type: 'hidden', default: 'https://www.googleapis.com' },
		{
			displayName: 'Folder ID',
			name: 'folderId',
			type: 'string',
			default: '',
			placeholder: '1AbCdEfGhIjKlMnOpQrStUvWxYz',
			description:
				'The folder backups go to: open it in Google Drive and copy the ID from the address (…/folders/&lt;ID&gt;). The Google account you sign in with must be able to edit it.',
			required: true,
		},
	];
}
