import { Injectable } from '@nestjs/common';

/**
 * The time quotas are counted at: which UTC day and month, and "now" for running sandboxes. Injectable
 * so tests move it across midnight instead of waiting.
 */
@Injectable()
export class QuotaClock {
  now(): Date {
    return new Date();
  }
}
