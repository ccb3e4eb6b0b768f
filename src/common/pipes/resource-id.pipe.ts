import { Injectable, PipeTransform } from '@nestjs/common';
import { notFound } from 'src/common/errors/orcaops.error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed id names no resource: answer 404 like any unknown id, not a format error. */
@Injectable()
export class ResourceIdPipe implements PipeTransform<string, string> {
  constructor(private readonly resource: string) {}

  transform(value: string): string {
    if (!UUID.test(value)) throw notFound(this.resource, value);
    return value.toLowerCase();
  }
}

export const idOf = (resource: string): ResourceIdPipe => new ResourceIdPipe(resource);
