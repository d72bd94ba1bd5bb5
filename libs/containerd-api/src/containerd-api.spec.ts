import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from '@jest/globals';
import { CreateTaskRequest, Envelope, EventsDefinition, ForwardRequest, Mount, TaskDefinition, TaskExit } from './index';

// The expected field numbers and wire types below are the struct tags of the Go code Debian ships
// with the .proto files (/usr/share/gocode/src/github.com/containerd/containerd/…/*.pb.go), which
// is what containerd itself marshals with: a .proto that disagreed with it would fail here.

/** Each top-level field of an encoded message, in order: its number and wire type. */
function fieldsOf(bytes: Uint8Array): Array<[number, WireType]> {
  const reader = new BinaryReader(bytes);
  const fields: Array<[number, WireType]> = [];
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    fields.push([fieldNo, wireType]);
    reader.skip(wireType);
  }
  return fields;
}

const { LengthDelimited, Varint } = WireType;

describe('containerd task API messages', () => {
  it('round-trips a CreateTaskRequest with a mount, its fields numbered as in shim.pb.go', () => {
    const request = CreateTaskRequest.fromPartial({
      id: 'c1',
      bundle: '/run/containerd/io.containerd.runtime.v2.task/default/c1',
      rootfs: [{ type: 'overlay', source: 'overlay', options: ['lowerdir=/l', 'upperdir=/u', 'workdir=/w'] }],
      terminal: true,
      stdin: '/run/containerd/fifo/c1-stdin',
      options: { typeUrl: 'containerd.runc.v1.Options', value: Buffer.from([0x08, 0x01]) },
    });
    const bytes = CreateTaskRequest.encode(request).finish();

    expect(CreateTaskRequest.decode(bytes)).toEqual(request);
    // ID `bytes,1`, Bundle `bytes,2`, Rootfs `bytes,3,rep`, Terminal `varint,4`, Stdin `bytes,5`, Options `bytes,10`.
    expect(fieldsOf(bytes)).toEqual([
      [1, LengthDelimited],
      [2, LengthDelimited],
      [3, LengthDelimited],
      [4, Varint],
      [5, LengthDelimited],
      [10, LengthDelimited],
    ]);
  });

  it('decodes a Mount as containerd writes it (mount.pb.go: type 1, source 2, target 3, options 4)', () => {
    const text = (s: string) => [s.length, ...Buffer.from(s)];
    const wire = Uint8Array.from([0x0a, ...text('bind'), 0x12, ...text('/src'), 0x1a, ...text('/dst'), 0x22, ...text('rbind'), 0x22, ...text('ro')]);
    expect(Mount.decode(wire)).toEqual({ type: 'bind', source: '/src', target: '/dst', options: ['rbind', 'ro'] });
    expect(Buffer.from(Mount.encode(Mount.decode(wire)).finish())).toEqual(Buffer.from(wire));
  });

  it('round-trips a TaskExit event inside the Envelope a shim forwards, fields numbered as in task.pb.go and events.pb.go', () => {
    const exit = TaskExit.fromPartial({ containerId: 'c1', id: 'exec-1', pid: 4242, exitStatus: 137, exitedAt: { seconds: 1_700_000_000, nanos: 5 } });
    const exitBytes = TaskExit.encode(exit).finish();
    expect(TaskExit.decode(exitBytes)).toEqual(exit);
    // ContainerID `bytes,1`, ID `bytes,2`, Pid `varint,3`, ExitStatus `varint,4`, ExitedAt `bytes,5`.
    expect(fieldsOf(exitBytes)).toEqual([
      [1, LengthDelimited],
      [2, LengthDelimited],
      [3, Varint],
      [4, Varint],
      [5, LengthDelimited],
    ]);

    const forward = ForwardRequest.fromPartial({
      envelope: { timestamp: { seconds: 1_700_000_001 }, namespace: 'default', topic: '/tasks/exit', event: { typeUrl: 'containerd.events.TaskExit', value: Buffer.from(exitBytes) } },
    });
    const forwardBytes = ForwardRequest.encode(forward).finish();
    const decoded = ForwardRequest.decode(forwardBytes);
    expect(decoded).toEqual(forward);
    expect(TaskExit.decode(decoded.envelope?.event?.value ?? Buffer.alloc(0))).toEqual(exit);
    // Envelope: Timestamp `bytes,1`, Namespace `bytes,2`, Topic `bytes,3`, Event `bytes,4`.
    expect(fieldsOf(Envelope.encode(forward.envelope ?? Envelope.create()).finish()).map(([fieldNo]) => fieldNo)).toEqual([1, 2, 3, 4]);
  });

  it('names the services and methods as the Go code registers them with ttrpc', () => {
    expect(TaskDefinition.fullName).toBe('containerd.task.v2.Task');
    expect(Object.values(TaskDefinition.methods).map((method) => method.name)).toEqual([
      'State',
      'Create',
      'Start',
      'Delete',
      'Pids',
      'Pause',
      'Resume',
      'Checkpoint',
      'Kill',
      'Exec',
      'ResizePty',
      'CloseIO',
      'Update',
      'Wait',
      'Stats',
      'Connect',
      'Shutdown',
    ]);
    expect(TaskDefinition.methods.create.requestType).toBe(CreateTaskRequest);
    expect(EventsDefinition.fullName).toBe('containerd.services.events.ttrpc.v1.Events');
    expect(EventsDefinition.methods.forward.name).toBe('Forward');
    expect(EventsDefinition.methods.forward.requestType).toBe(ForwardRequest);
  });
});
