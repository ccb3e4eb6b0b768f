import { Global, Module } from '@nestjs/common';
import { StreamSlotInterceptor, StreamSlots } from 'src/streams/stream-slots';

/** The per-process stream counter, shared by every front end that holds a response open (REST, MCP). */
@Global()
@Module({
  providers: [StreamSlots, StreamSlotInterceptor],
  exports: [StreamSlots, StreamSlotInterceptor],
})
export class StreamsModule {}
