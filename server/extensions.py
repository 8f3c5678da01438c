"""Extensions are created once here and bound to an app in `create_app` with init_app."""

from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

from server.realtime.frames import MendPacket

# Frames are decoded with a depth cap, and one that can't be an event is answered `invalid`
# by the catch-all in server.realtime.schemas instead of being dropped without an ack.
socketio = SocketIO(serializer=MendPacket)
login_manager = LoginManager()
csrf = CSRFProtect()
