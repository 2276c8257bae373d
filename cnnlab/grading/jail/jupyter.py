"""jupyter_client's view of a kernel of a kernel server (`cnnlab.grading.jail.kernels`), so that nbgrader's
`Execute` (nbclient) runs cells in it as in any kernel.

`ServerKernelManager(kernel_server)`: starting its kernel takes the server's next kernel (started ahead when it
could be); polling, killing and ending it go through the server (`ServerProvisioner`). Its sockets are reached
through the descriptors the grader opened when the kernel had bound them (`ServerKernelClient` and the manager's
own control socket use `Kernel.url`); the manager never writes, reads or removes a file in the kernel's folders
(no connection file, no socket file: the server's next `start_next` empties them). Interrupts are messages on the
control channel, as in the kernelspec the grader used before the server.
"""

import asyncio
import signal
import time
import uuid
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerBase
from traitlets import DottedObjectName, Type

SPEC = KernelSpec(argv=[], display_name="cnnlab sandbox", language="python", interrupt_mode="message")


class ServerProvisioner(KernelProvisionerBase):
    """The kernel's process, as the server sees it."""

    server = None  # the KernelServer
    kernel = None  # its Kernel
    exit_code = None

    @property
    def has_process(self):
        return self.kernel is not None and self.exit_code is None

    async def poll(self):
        if self.exit_code is None:
            self.exit_code = self.server.poll()
        return self.exit_code

    async def wait(self):
        while await self.poll() is None:
            await asyncio.sleep(0.1)
        return self.exit_code

    async def send_signal(self, signum):
        if signum in (signal.SIGKILL, signal.SIGTERM):  # (SIGINT: interrupts are messages)
            await self.kill()

    async def kill(self, restart=False):
        if self.exit_code is None:
            self.exit_code = self.server.kill()

    async def terminate(self, restart=False):
        await self.kill(restart)

    async def pre_launch(self, **kwargs):
        kwargs.pop("extra_arguments", None)
        return {**kwargs, "cmd": []}

    async def launch_kernel(self, cmd, **kwargs):
        self.connection_info = dict(self.kernel.connection, key=self.kernel.connection["key"].encode())
        return self.connection_info

    async def cleanup(self, restart=False):
        pass  # the grader closes the kernel's socket descriptors once the clients are closed


class ServerKernelClient(AsyncKernelClient):
    """A client reaching the kernel through the grader's descriptors of its sockets."""

    def _make_url(self, channel):
        return self.parent.kernel.url(channel)

    async def wait_for_ready(self, timeout=None):
        """Return once the kernel answered a `kernel_info_request` and IOPub carried that request's last status
        (`idle`): both channels work and nothing of the request is left to mix with the first cell's output.
        (jupyter_client's own waits for 0.2 s of silence on IOPub instead, a fifth of a submission here.)"""
        timeout = 60 if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            request = self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
                while reply["parent_header"].get("msg_id") != request:  # (an answer to an earlier request)
                    reply = await self.shell_channel.get_msg(timeout=1)
                while True:
                    message = await self.iopub_channel.get_msg(timeout=0.5)
                    if message["parent_header"].get("msg_id") == request and message["msg_type"] == "status":
                        if message["content"].get("execution_state") == "idle":
                            self._handle_kernel_info_reply(reply)
                            return
            except Empty:  # a channel not connected yet: ask again
                pass
            if not await self.parent._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
        raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")


class ServerKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel is the kernel server's next one (see the module's docstring)."""

    client_class = DottedObjectName("cnnlab.grading.jail.jupyter.ServerKernelClient")
    client_factory = Type(klass=ServerKernelClient)

    def __init__(self, kernel_server, **kwargs):
        super().__init__(**kwargs)
        self.kernel_server = kernel_server
        self.kernel = None  # the server's `Kernel`, once started

    @property
    def kernel_spec(self):
        return SPEC

    @property
    def ipykernel(self):
        return True

    async def _async_pre_start_kernel(self, **kwargs):
        self.shutting_down = False
        self.kernel_id = self.kernel_id or str(uuid.uuid4())
        self._launch_args = kwargs.copy()
        provisioner = ServerProvisioner(kernel_id=self.kernel_id, kernel_spec=SPEC, parent=self)
        provisioner.server = self.kernel_server
        provisioner.kernel = self.kernel = self.kernel_server.kernel()
        self.provisioner = provisioner
        kwargs = await provisioner.pre_launch(**kwargs)
        return kwargs.pop("cmd"), kwargs

    def _reconcile_connection_info(self, info):
        self.load_connection_info(info)
        self._connection_file_written = True

    def _make_url(self, channel):
        return self.kernel.url(channel)

    def write_connection_file(self, **kwargs):
        pass  # the kernel server wrote it, through the folder's descriptor

    def cleanup_connection_file(self):
        pass  # the kernel server's next start empties the folder

    def cleanup_ipc_files(self):
        pass
