import { Injectable } from '@nestjs/common';
import { KeyedSignal } from 'src/common/keyed-signal';

/** In-process signal that a job (by id) has new output or changed state; see KeyedSignal. */
@Injectable()
export class JobEvents extends KeyedSignal {}
