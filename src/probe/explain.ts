import type { ProbeOutcome } from './types.js';

/**
 * What a probe outcome means, in one sentence a user can act on. Pure: the verdict and the evidence
 * the prober recorded (a cached outcome has none, and gets the verdict's general sentence).
 *
 * It never names registries: what each registry answers an anonymous client is in docs/registries.md,
 * with sources. The one fact used here is that an anonymous client cannot tell a private repository
 * from a missing one when the registry refuses both alike (most do: 401 or 403, at the token endpoint
 * or at the manifest), and that a 404 says "does not exist" to this client.
 */
export function explain(outcome: Pick<ProbeOutcome, 'verdict' | 'evidence'>): string {
  const e = outcome.evidence;
  switch (outcome.verdict) {
    case 'public':
      return 'the registry served the manifest to an anonymous client: anyone can pull this image';
    case 'private-404':
      return NOT_FOUND;
    case 'private':
      if (e?.step === 'token') {
        return `the registry's token endpoint refused an anonymous token for this repository (${e.status}): it needs credentials, so it is private, or it does not exist (an anonymous client gets the same answer for both)`;
      }
      if (e?.step === 'manifest' && e.status === 401) {
        if (e.challenge === 'basic') {
          return 'the registry asks for a login before any pull (Basic auth): it allows no anonymous pulls, so the image needs credentials (an anonymous client cannot tell whether the repository exists)';
        }
        if (e.anonymousToken) {
          return `the registry gave an anonymous token without pull access to this repository and refused the manifest (401${e.bearerError ? `, ${e.bearerError}` : ''}): it is private, or it does not exist (an anonymous client gets the same answer for both)`;
        }
        return 'the registry refused the manifest to an anonymous client (401): it needs credentials, so it is private, or it does not exist';
      }
      if (e?.step === 'manifest' && e.status === 403) {
        return 'the registry forbids anonymous pulls of this repository (403): it needs credentials, so it is private, or it does not exist';
      }
      return 'the registry refused an anonymous pull: the image needs credentials (a private repository), or the repository does not exist';
    case 'inconclusive':
      if (e?.step === 'deadline') return 'probing ran out of time (probe.deadlineSeconds) before this image was decided, so it is neither public nor private';
      if (e?.step === 'failure' && e.timedOut) {
        return 'the registry did not answer in time (probe.timeoutSeconds; a request that timed out is sent once more), so the probe cannot tell public from private';
      }
      if (e?.step === 'manifest' && e.status >= 200 && e.status < 300) {
        return `the registry answered ${e.status} with something that is not a manifest (a captive portal's or a proxy's page?), so the probe cannot tell public from private`;
      }
      if (e?.step === 'manifest') {
        return `the registry answered ${e.status}, which says neither public nor private`;
      }
      return 'the registry could not be asked (a rate limit or server error that outlasted the retries, or a network, TLS or policy failure), so the probe cannot tell public from private';
  }
}

const NOT_FOUND =
  'the registry says this repository or tag does not exist for an anonymous client; some registries hide private repositories this way, so it is treated as private — check the reference';
