package raftfsm

// SlotOf returns the hash slot of a trader:
//
//	slot = CRC16-XMODEM(decimal ASCII of the trader ID) mod 16384
//
// CRC16-XMODEM is polynomial 0x1021, initial value 0, no reflection, no final
// XOR: the hash Redis Cluster uses for its key slots (CRC16("123456789") ==
// 0x31C3). The trader ID is formatted in base 10 without leading zeros, with
// a leading '-' for a negative ID (never a valid account).
//
// FIXED FOREVER: every shard group's slot ownership, every migration and every
// router's slot map depend on it. Pinned by TestSlotVectors.
func SlotOf(trader AccountID) uint16 {
	var buf [20]byte // len("-9223372036854775808")
	i := len(buf)
	u := uint64(trader)
	if trader < 0 {
		u = -u
	}
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if trader < 0 {
		i--
		buf[i] = '-'
	}
	return crc16(buf[i:]) % NumSlots
}

// crc16 is CRC16-XMODEM (poly 0x1021, init 0), table-driven.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^c]
	}
	return crc
}

var crc16Table = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()
