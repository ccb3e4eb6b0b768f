import { Injectable } from '@nestjs/common';
import { KeyedSignal } from 'src/common/keyed-signal';

/** In-process signal that a workflow run (by id) changed: an instance transition, a job attached, the end; see KeyedSignal. */
@Injectable()
export class WorkflowRunEvents extends KeyedSignal {}
