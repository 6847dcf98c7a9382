-- Wireshark dissector for flows tagged by the dns-tag Layer 4.5 customization.
--
-- The Layer 4.5 core prepends an 8-byte header to the payload of a customised flow:
--   magic "L4" (2 bytes) | version (1) | flags (1) | tag (4, big-endian)
-- dns-tag sets tag = 0x4c450000 | module_id. This dissector decodes that header on UDP/TCP
-- port 53 and hands the rest to Wireshark's DNS dissector, so a middlebox sees plain DNS again.
-- Install: copy to ~/.local/lib/wireshark/plugins/ (the DCA in middlebox mode does this).

local l45 = Proto("l45dnstag", "Layer 4.5 DNS tag")

local f_magic = ProtoField.string("l45dnstag.magic", "Magic")
local f_version = ProtoField.uint8("l45dnstag.version", "Version")
local f_flags = ProtoField.uint8("l45dnstag.flags", "Flags", base.HEX)
local f_tag = ProtoField.uint32("l45dnstag.tag", "Tag", base.HEX)
local f_module = ProtoField.uint16("l45dnstag.module_id", "Module id")
l45.fields = { f_magic, f_version, f_flags, f_tag, f_module }

local HEADER_LEN = 8
local TAG_BASE = 0x4c45

local dns = Dissector.get("dns")

local function is_l45(tvb)
  return tvb:len() >= HEADER_LEN and tvb(0, 2):string() == "L4" and tvb(2, 1):uint() == 1
end

function l45.dissector(tvb, pinfo, tree)
  if not is_l45(tvb) then
    return 0
  end
  local tag = tvb(4, 4):uint()
  local subtree = tree:add(l45, tvb(0, HEADER_LEN), "Layer 4.5 DNS tag")
  subtree:add(f_magic, tvb(0, 2))
  subtree:add(f_version, tvb(2, 1))
  subtree:add(f_flags, tvb(3, 1))
  subtree:add(f_tag, tvb(4, 4))
  if bit.rshift(tag, 16) == TAG_BASE then
    subtree:add(f_module, tvb(6, 2))
    pinfo.cols.info:prepend(string.format("[L4.5 module %d] ", bit.band(tag, 0xffff)))
  end
  pinfo.cols.protocol = "L4.5/DNS"
  if tvb:len() > HEADER_LEN then
    dns:call(tvb(HEADER_LEN):tvb(), pinfo, tree)
  end
  return tvb:len()
end

DissectorTable.get("udp.port"):add(53, l45)
DissectorTable.get("tcp.port"):add(53, l45)
