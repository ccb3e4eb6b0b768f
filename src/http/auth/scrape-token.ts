import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { metricsConfig } from 'src/config/orcaops.config';
import { hashesEqual, hashToken } from 'src/tenancy/token-secret';

/**
 * The Prometheus scrape credential: one operator-chosen secret (ORCAOPS_METRICS_TOKEN), separate from
 * API tokens so a scraper holds no tenant or admin rights. Unset, the scrape route does not exist.
 */
@Injectable()
export class ScrapeToken {
  private readonly hash: Buffer | undefined;

  constructor(@Inject(metricsConfig.KEY) config: ConfigType<typeof metricsConfig>) {
    this.hash = config.scrapeToken ? hashToken(config.scrapeToken) : undefined;
  }

  /** Throws 404 while no metrics token is configured, 401 for a missing or wrong one. */
  verify(presented: string | undefined): void {
    // The same answer as a route that does not exist.
    if (!this.hash) throw new OrcaOpsError('not_found', 'No such route');
    if (!presented) throw new OrcaOpsError('unauthenticated', 'Missing bearer token (Authorization: Bearer <metrics token>)');
    // Hash first: equal-length digests compared in constant time, whatever was presented.
    if (!hashesEqual(hashToken(presented), this.hash)) throw new OrcaOpsError('unauthenticated', 'Invalid metrics token');
  }
}
