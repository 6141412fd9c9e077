// No WebRTC here: bittorrent-tracker/server, the only part ALTOkit's benchmark loads, never calls it.
export const RTCPeerConnection = undefined
export const RTCSessionDescription = undefined
export const RTCIceCandidate = undefined
export default {}
