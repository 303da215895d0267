/* stub-uefi interrupt entry stubs and fault-guarded helpers (AT&T syntax, Win64 ABI).
 * Every vector pushes (a zero error code if the CPU pushes none and) its number, then
 * isr_common saves the GPRs so that the stack holds a josx64 InterruptFrame:
 *   rdi rsi rbp rdx rcx rbx rax r15 r14 r13 r12 r11 r10 r9 r8 handler_id error_code rip cs rflags rsp ss
 * isr_dispatch(frame, fxsave_area) returns 0 to iretq (with the possibly modified frame),
 * 1 to chain to the address it stored in frame->handler_id (CPU error code kept on the stack),
 * 2 to chain to the address it stored in frame->error_code (no CPU error code).
 * The vector stubs below are generated (see README); keep them in sync by hand. */
    .text
    .balign 16

isr_0:
    pushq $0
    pushq $0
    jmp isr_common
    .balign 16
isr_1:
    pushq $0
    pushq $1
    jmp isr_common
    .balign 16
isr_2:
    pushq $0
    pushq $2
    jmp isr_common
    .balign 16
isr_3:
    pushq $0
    pushq $3
    jmp isr_common
    .balign 16
isr_4:
    pushq $0
    pushq $4
    jmp isr_common
    .balign 16
isr_5:
    pushq $0
    pushq $5
    jmp isr_common
    .balign 16
isr_6:
    pushq $0
    pushq $6
    jmp isr_common
    .balign 16
isr_7:
    pushq $0
    pushq $7
    jmp isr_common
    .balign 16
isr_8:
    pushq $8
    jmp isr_common
    .balign 16
isr_9:
    pushq $0
    pushq $9
    jmp isr_common
    .balign 16
isr_10:
    pushq $10
    jmp isr_common
    .balign 16
isr_11:
    pushq $11
    jmp isr_common
    .balign 16
isr_12:
    pushq $12
    jmp isr_common
    .balign 16
isr_13:
    pushq $13
    jmp isr_common
    .balign 16
isr_14:
    pushq $14
    jmp isr_common
    .balign 16
isr_15:
    pushq $0
    pushq $15
    jmp isr_common
    .balign 16
isr_16:
    pushq $0
    pushq $16
    jmp isr_common
    .balign 16
isr_17:
    pushq $17
    jmp isr_common
    .balign 16
isr_18:
    pushq $0
    pushq $18
    jmp isr_common
    .balign 16
isr_19:
    pushq $0
    pushq $19
    jmp isr_common
    .balign 16
isr_20:
    pushq $0
    pushq $20
    jmp isr_common
    .balign 16
isr_21:
    pushq $21
    jmp isr_common
    .balign 16
isr_22:
    pushq $0
    pushq $22
    jmp isr_common
    .balign 16
isr_23:
    pushq $0
    pushq $23
    jmp isr_common
    .balign 16
isr_24:
    pushq $0
    pushq $24
    jmp isr_common
    .balign 16
isr_25:
    pushq $0
    pushq $25
    jmp isr_common
    .balign 16
isr_26:
    pushq $0
    pushq $26
    jmp isr_common
    .balign 16
isr_27:
    pushq $0
    pushq $27
    jmp isr_common
    .balign 16
isr_28:
    pushq $0
    pushq $28
    jmp isr_common
    .balign 16
isr_29:
    pushq $29
    jmp isr_common
    .balign 16
isr_30:
    pushq $30
    jmp isr_common
    .balign 16
isr_31:
    pushq $0
    pushq $31
    jmp isr_common
    .balign 16
isr_32:
    pushq $0
    pushq $32
    jmp isr_common
    .balign 16
isr_33:
    pushq $0
    pushq $33
    jmp isr_common
    .balign 16
isr_34:
    pushq $0
    pushq $34
    jmp isr_common
    .balign 16
isr_35:
    pushq $0
    pushq $35
    jmp isr_common
    .balign 16
isr_36:
    pushq $0
    pushq $36
    jmp isr_common
    .balign 16
isr_37:
    pushq $0
    pushq $37
    jmp isr_common
    .balign 16
isr_38:
    pushq $0
    pushq $38
    jmp isr_common
    .balign 16
isr_39:
    pushq $0
    pushq $39
    jmp isr_common
    .balign 16
isr_40:
    pushq $0
    pushq $40
    jmp isr_common
    .balign 16
isr_41:
    pushq $0
    pushq $41
    jmp isr_common
    .balign 16
isr_42:
    pushq $0
    pushq $42
    jmp isr_common
    .balign 16
isr_43:
    pushq $0
    pushq $43
    jmp isr_common
    .balign 16
isr_44:
    pushq $0
    pushq $44
    jmp isr_common
    .balign 16
isr_45:
    pushq $0
    pushq $45
    jmp isr_common
    .balign 16
isr_46:
    pushq $0
    pushq $46
    jmp isr_common
    .balign 16
isr_47:
    pushq $0
    pushq $47
    jmp isr_common
    .balign 16
isr_48:
    pushq $0
    pushq $48
    jmp isr_common
    .balign 16
isr_49:
    pushq $0
    pushq $49
    jmp isr_common
    .balign 16
isr_50:
    pushq $0
    pushq $50
    jmp isr_common
    .balign 16
isr_51:
    pushq $0
    pushq $51
    jmp isr_common
    .balign 16
isr_52:
    pushq $0
    pushq $52
    jmp isr_common
    .balign 16
isr_53:
    pushq $0
    pushq $53
    jmp isr_common
    .balign 16
isr_54:
    pushq $0
    pushq $54
    jmp isr_common
    .balign 16
isr_55:
    pushq $0
    pushq $55
    jmp isr_common
    .balign 16
isr_56:
    pushq $0
    pushq $56
    jmp isr_common
    .balign 16
isr_57:
    pushq $0
    pushq $57
    jmp isr_common
    .balign 16
isr_58:
    pushq $0
    pushq $58
    jmp isr_common
    .balign 16
isr_59:
    pushq $0
    pushq $59
    jmp isr_common
    .balign 16
isr_60:
    pushq $0
    pushq $60
    jmp isr_common
    .balign 16
isr_61:
    pushq $0
    pushq $61
    jmp isr_common
    .balign 16
isr_62:
    pushq $0
    pushq $62
    jmp isr_common
    .balign 16
isr_63:
    pushq $0
    pushq $63
    jmp isr_common
    .balign 16
isr_64:
    pushq $0
    pushq $64
    jmp isr_common
    .balign 16
isr_65:
    pushq $0
    pushq $65
    jmp isr_common
    .balign 16
isr_66:
    pushq $0
    pushq $66
    jmp isr_common
    .balign 16
isr_67:
    pushq $0
    pushq $67
    jmp isr_common
    .balign 16
isr_68:
    pushq $0
    pushq $68
    jmp isr_common
    .balign 16
isr_69:
    pushq $0
    pushq $69
    jmp isr_common
    .balign 16
isr_70:
    pushq $0
    pushq $70
    jmp isr_common
    .balign 16
isr_71:
    pushq $0
    pushq $71
    jmp isr_common
    .balign 16
isr_72:
    pushq $0
    pushq $72
    jmp isr_common
    .balign 16
isr_73:
    pushq $0
    pushq $73
    jmp isr_common
    .balign 16
isr_74:
    pushq $0
    pushq $74
    jmp isr_common
    .balign 16
isr_75:
    pushq $0
    pushq $75
    jmp isr_common
    .balign 16
isr_76:
    pushq $0
    pushq $76
    jmp isr_common
    .balign 16
isr_77:
    pushq $0
    pushq $77
    jmp isr_common
    .balign 16
isr_78:
    pushq $0
    pushq $78
    jmp isr_common
    .balign 16
isr_79:
    pushq $0
    pushq $79
    jmp isr_common
    .balign 16
isr_80:
    pushq $0
    pushq $80
    jmp isr_common
    .balign 16
isr_81:
    pushq $0
    pushq $81
    jmp isr_common
    .balign 16
isr_82:
    pushq $0
    pushq $82
    jmp isr_common
    .balign 16
isr_83:
    pushq $0
    pushq $83
    jmp isr_common
    .balign 16
isr_84:
    pushq $0
    pushq $84
    jmp isr_common
    .balign 16
isr_85:
    pushq $0
    pushq $85
    jmp isr_common
    .balign 16
isr_86:
    pushq $0
    pushq $86
    jmp isr_common
    .balign 16
isr_87:
    pushq $0
    pushq $87
    jmp isr_common
    .balign 16
isr_88:
    pushq $0
    pushq $88
    jmp isr_common
    .balign 16
isr_89:
    pushq $0
    pushq $89
    jmp isr_common
    .balign 16
isr_90:
    pushq $0
    pushq $90
    jmp isr_common
    .balign 16
isr_91:
    pushq $0
    pushq $91
    jmp isr_common
    .balign 16
isr_92:
    pushq $0
    pushq $92
    jmp isr_common
    .balign 16
isr_93:
    pushq $0
    pushq $93
    jmp isr_common
    .balign 16
isr_94:
    pushq $0
    pushq $94
    jmp isr_common
    .balign 16
isr_95:
    pushq $0
    pushq $95
    jmp isr_common
    .balign 16
isr_96:
    pushq $0
    pushq $96
    jmp isr_common
    .balign 16
isr_97:
    pushq $0
    pushq $97
    jmp isr_common
    .balign 16
isr_98:
    pushq $0
    pushq $98
    jmp isr_common
    .balign 16
isr_99:
    pushq $0
    pushq $99
    jmp isr_common
    .balign 16
isr_100:
    pushq $0
    pushq $100
    jmp isr_common
    .balign 16
isr_101:
    pushq $0
    pushq $101
    jmp isr_common
    .balign 16
isr_102:
    pushq $0
    pushq $102
    jmp isr_common
    .balign 16
isr_103:
    pushq $0
    pushq $103
    jmp isr_common
    .balign 16
isr_104:
    pushq $0
    pushq $104
    jmp isr_common
    .balign 16
isr_105:
    pushq $0
    pushq $105
    jmp isr_common
    .balign 16
isr_106:
    pushq $0
    pushq $106
    jmp isr_common
    .balign 16
isr_107:
    pushq $0
    pushq $107
    jmp isr_common
    .balign 16
isr_108:
    pushq $0
    pushq $108
    jmp isr_common
    .balign 16
isr_109:
    pushq $0
    pushq $109
    jmp isr_common
    .balign 16
isr_110:
    pushq $0
    pushq $110
    jmp isr_common
    .balign 16
isr_111:
    pushq $0
    pushq $111
    jmp isr_common
    .balign 16
isr_112:
    pushq $0
    pushq $112
    jmp isr_common
    .balign 16
isr_113:
    pushq $0
    pushq $113
    jmp isr_common
    .balign 16
isr_114:
    pushq $0
    pushq $114
    jmp isr_common
    .balign 16
isr_115:
    pushq $0
    pushq $115
    jmp isr_common
    .balign 16
isr_116:
    pushq $0
    pushq $116
    jmp isr_common
    .balign 16
isr_117:
    pushq $0
    pushq $117
    jmp isr_common
    .balign 16
isr_118:
    pushq $0
    pushq $118
    jmp isr_common
    .balign 16
isr_119:
    pushq $0
    pushq $119
    jmp isr_common
    .balign 16
isr_120:
    pushq $0
    pushq $120
    jmp isr_common
    .balign 16
isr_121:
    pushq $0
    pushq $121
    jmp isr_common
    .balign 16
isr_122:
    pushq $0
    pushq $122
    jmp isr_common
    .balign 16
isr_123:
    pushq $0
    pushq $123
    jmp isr_common
    .balign 16
isr_124:
    pushq $0
    pushq $124
    jmp isr_common
    .balign 16
isr_125:
    pushq $0
    pushq $125
    jmp isr_common
    .balign 16
isr_126:
    pushq $0
    pushq $126
    jmp isr_common
    .balign 16
isr_127:
    pushq $0
    pushq $127
    jmp isr_common
    .balign 16
isr_128:
    pushq $0
    pushq $128
    jmp isr_common
    .balign 16
isr_129:
    pushq $0
    pushq $129
    jmp isr_common
    .balign 16
isr_130:
    pushq $0
    pushq $130
    jmp isr_common
    .balign 16
isr_131:
    pushq $0
    pushq $131
    jmp isr_common
    .balign 16
isr_132:
    pushq $0
    pushq $132
    jmp isr_common
    .balign 16
isr_133:
    pushq $0
    pushq $133
    jmp isr_common
    .balign 16
isr_134:
    pushq $0
    pushq $134
    jmp isr_common
    .balign 16
isr_135:
    pushq $0
    pushq $135
    jmp isr_common
    .balign 16
isr_136:
    pushq $0
    pushq $136
    jmp isr_common
    .balign 16
isr_137:
    pushq $0
    pushq $137
    jmp isr_common
    .balign 16
isr_138:
    pushq $0
    pushq $138
    jmp isr_common
    .balign 16
isr_139:
    pushq $0
    pushq $139
    jmp isr_common
    .balign 16
isr_140:
    pushq $0
    pushq $140
    jmp isr_common
    .balign 16
isr_141:
    pushq $0
    pushq $141
    jmp isr_common
    .balign 16
isr_142:
    pushq $0
    pushq $142
    jmp isr_common
    .balign 16
isr_143:
    pushq $0
    pushq $143
    jmp isr_common
    .balign 16
isr_144:
    pushq $0
    pushq $144
    jmp isr_common
    .balign 16
isr_145:
    pushq $0
    pushq $145
    jmp isr_common
    .balign 16
isr_146:
    pushq $0
    pushq $146
    jmp isr_common
    .balign 16
isr_147:
    pushq $0
    pushq $147
    jmp isr_common
    .balign 16
isr_148:
    pushq $0
    pushq $148
    jmp isr_common
    .balign 16
isr_149:
    pushq $0
    pushq $149
    jmp isr_common
    .balign 16
isr_150:
    pushq $0
    pushq $150
    jmp isr_common
    .balign 16
isr_151:
    pushq $0
    pushq $151
    jmp isr_common
    .balign 16
isr_152:
    pushq $0
    pushq $152
    jmp isr_common
    .balign 16
isr_153:
    pushq $0
    pushq $153
    jmp isr_common
    .balign 16
isr_154:
    pushq $0
    pushq $154
    jmp isr_common
    .balign 16
isr_155:
    pushq $0
    pushq $155
    jmp isr_common
    .balign 16
isr_156:
    pushq $0
    pushq $156
    jmp isr_common
    .balign 16
isr_157:
    pushq $0
    pushq $157
    jmp isr_common
    .balign 16
isr_158:
    pushq $0
    pushq $158
    jmp isr_common
    .balign 16
isr_159:
    pushq $0
    pushq $159
    jmp isr_common
    .balign 16
isr_160:
    pushq $0
    pushq $160
    jmp isr_common
    .balign 16
isr_161:
    pushq $0
    pushq $161
    jmp isr_common
    .balign 16
isr_162:
    pushq $0
    pushq $162
    jmp isr_common
    .balign 16
isr_163:
    pushq $0
    pushq $163
    jmp isr_common
    .balign 16
isr_164:
    pushq $0
    pushq $164
    jmp isr_common
    .balign 16
isr_165:
    pushq $0
    pushq $165
    jmp isr_common
    .balign 16
isr_166:
    pushq $0
    pushq $166
    jmp isr_common
    .balign 16
isr_167:
    pushq $0
    pushq $167
    jmp isr_common
    .balign 16
isr_168:
    pushq $0
    pushq $168
    jmp isr_common
    .balign 16
isr_169:
    pushq $0
    pushq $169
    jmp isr_common
    .balign 16
isr_170:
    pushq $0
    pushq $170
    jmp isr_common
    .balign 16
isr_171:
    pushq $0
    pushq $171
    jmp isr_common
    .balign 16
isr_172:
    pushq $0
    pushq $172
    jmp isr_common
    .balign 16
isr_173:
    pushq $0
    pushq $173
    jmp isr_common
    .balign 16
isr_174:
    pushq $0
    pushq $174
    jmp isr_common
    .balign 16
isr_175:
    pushq $0
    pushq $175
    jmp isr_common
    .balign 16
isr_176:
    pushq $0
    pushq $176
    jmp isr_common
    .balign 16
isr_177:
    pushq $0
    pushq $177
    jmp isr_common
    .balign 16
isr_178:
    pushq $0
    pushq $178
    jmp isr_common
    .balign 16
isr_179:
    pushq $0
    pushq $179
    jmp isr_common
    .balign 16
isr_180:
    pushq $0
    pushq $180
    jmp isr_common
    .balign 16
isr_181:
    pushq $0
    pushq $181
    jmp isr_common
    .balign 16
isr_182:
    pushq $0
    pushq $182
    jmp isr_common
    .balign 16
isr_183:
    pushq $0
    pushq $183
    jmp isr_common
    .balign 16
isr_184:
    pushq $0
    pushq $184
    jmp isr_common
    .balign 16
isr_185:
    pushq $0
    pushq $185
    jmp isr_common
    .balign 16
isr_186:
    pushq $0
    pushq $186
    jmp isr_common
    .balign 16
isr_187:
    pushq $0
    pushq $187
    jmp isr_common
    .balign 16
isr_188:
    pushq $0
    pushq $188
    jmp isr_common
    .balign 16
isr_189:
    pushq $0
    pushq $189
    jmp isr_common
    .balign 16
isr_190:
    pushq $0
    pushq $190
    jmp isr_common
    .balign 16
isr_191:
    pushq $0
    pushq $191
    jmp isr_common
    .balign 16
isr_192:
    pushq $0
    pushq $192
    jmp isr_common
    .balign 16
isr_193:
    pushq $0
    pushq $193
    jmp isr_common
    .balign 16
isr_194:
    pushq $0
    pushq $194
    jmp isr_common
    .balign 16
isr_195:
    pushq $0
    pushq $195
    jmp isr_common
    .balign 16
isr_196:
    pushq $0
    pushq $196
    jmp isr_common
    .balign 16
isr_197:
    pushq $0
    pushq $197
    jmp isr_common
    .balign 16
isr_198:
    pushq $0
    pushq $198
    jmp isr_common
    .balign 16
isr_199:
    pushq $0
    pushq $199
    jmp isr_common
    .balign 16
isr_200:
    pushq $0
    pushq $200
    jmp isr_common
    .balign 16
isr_201:
    pushq $0
    pushq $201
    jmp isr_common
    .balign 16
isr_202:
    pushq $0
    pushq $202
    jmp isr_common
    .balign 16
isr_203:
    pushq $0
    pushq $203
    jmp isr_common
    .balign 16
isr_204:
    pushq $0
    pushq $204
    jmp isr_common
    .balign 16
isr_205:
    pushq $0
    pushq $205
    jmp isr_common
    .balign 16
isr_206:
    pushq $0
    pushq $206
    jmp isr_common
    .balign 16
isr_207:
    pushq $0
    pushq $207
    jmp isr_common
    .balign 16
isr_208:
    pushq $0
    pushq $208
    jmp isr_common
    .balign 16
isr_209:
    pushq $0
    pushq $209
    jmp isr_common
    .balign 16
isr_210:
    pushq $0
    pushq $210
    jmp isr_common
    .balign 16
isr_211:
    pushq $0
    pushq $211
    jmp isr_common
    .balign 16
isr_212:
    pushq $0
    pushq $212
    jmp isr_common
    .balign 16
isr_213:
    pushq $0
    pushq $213
    jmp isr_common
    .balign 16
isr_214:
    pushq $0
    pushq $214
    jmp isr_common
    .balign 16
isr_215:
    pushq $0
    pushq $215
    jmp isr_common
    .balign 16
isr_216:
    pushq $0
    pushq $216
    jmp isr_common
    .balign 16
isr_217:
    pushq $0
    pushq $217
    jmp isr_common
    .balign 16
isr_218:
    pushq $0
    pushq $218
    jmp isr_common
    .balign 16
isr_219:
    pushq $0
    pushq $219
    jmp isr_common
    .balign 16
isr_220:
    pushq $0
    pushq $220
    jmp isr_common
    .balign 16
isr_221:
    pushq $0
    pushq $221
    jmp isr_common
    .balign 16
isr_222:
    pushq $0
    pushq $222
    jmp isr_common
    .balign 16
isr_223:
    pushq $0
    pushq $223
    jmp isr_common
    .balign 16
isr_224:
    pushq $0
    pushq $224
    jmp isr_common
    .balign 16
isr_225:
    pushq $0
    pushq $225
    jmp isr_common
    .balign 16
isr_226:
    pushq $0
    pushq $226
    jmp isr_common
    .balign 16
isr_227:
    pushq $0
    pushq $227
    jmp isr_common
    .balign 16
isr_228:
    pushq $0
    pushq $228
    jmp isr_common
    .balign 16
isr_229:
    pushq $0
    pushq $229
    jmp isr_common
    .balign 16
isr_230:
    pushq $0
    pushq $230
    jmp isr_common
    .balign 16
isr_231:
    pushq $0
    pushq $231
    jmp isr_common
    .balign 16
isr_232:
    pushq $0
    pushq $232
    jmp isr_common
    .balign 16
isr_233:
    pushq $0
    pushq $233
    jmp isr_common
    .balign 16
isr_234:
    pushq $0
    pushq $234
    jmp isr_common
    .balign 16
isr_235:
    pushq $0
    pushq $235
    jmp isr_common
    .balign 16
isr_236:
    pushq $0
    pushq $236
    jmp isr_common
    .balign 16
isr_237:
    pushq $0
    pushq $237
    jmp isr_common
    .balign 16
isr_238:
    pushq $0
    pushq $238
    jmp isr_common
    .balign 16
isr_239:
    pushq $0
    pushq $239
    jmp isr_common
    .balign 16
isr_240:
    pushq $0
    pushq $240
    jmp isr_common
    .balign 16
isr_241:
    pushq $0
    pushq $241
    jmp isr_common
    .balign 16
isr_242:
    pushq $0
    pushq $242
    jmp isr_common
    .balign 16
isr_243:
    pushq $0
    pushq $243
    jmp isr_common
    .balign 16
isr_244:
    pushq $0
    pushq $244
    jmp isr_common
    .balign 16
isr_245:
    pushq $0
    pushq $245
    jmp isr_common
    .balign 16
isr_246:
    pushq $0
    pushq $246
    jmp isr_common
    .balign 16
isr_247:
    pushq $0
    pushq $247
    jmp isr_common
    .balign 16
isr_248:
    pushq $0
    pushq $248
    jmp isr_common
    .balign 16
isr_249:
    pushq $0
    pushq $249
    jmp isr_common
    .balign 16
isr_250:
    pushq $0
    pushq $250
    jmp isr_common
    .balign 16
isr_251:
    pushq $0
    pushq $251
    jmp isr_common
    .balign 16
isr_252:
    pushq $0
    pushq $252
    jmp isr_common
    .balign 16
isr_253:
    pushq $0
    pushq $253
    jmp isr_common
    .balign 16
isr_254:
    pushq $0
    pushq $254
    jmp isr_common
    .balign 16
isr_255:
    pushq $0
    pushq $255
    jmp isr_common
    .balign 16

isr_common:
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rbp
    pushq %rsi
    pushq %rdi
    cld
    movq %rsp, %rbp            /* rbp = frame (restored from the frame later) */
    movq %rsp, %rcx            /* arg 1: frame */
    subq $528, %rsp
    andq $-16, %rsp
    fxsave64 (%rsp)
    movq %rsp, %rdx            /* arg 2: FXSAVE area of the interrupted context */
    movq %rsp, %rbx
    subq $32, %rsp             /* shadow space */
    call isr_dispatch
    fxrstor64 (%rbx)
    movq %rbp, %rsp
    cmpl $1, %eax
    je 1f
    cmpl $2, %eax
    je 2f
    popq %rdi
    popq %rsi
    popq %rbp
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    addq $16, %rsp
    iretq
1:  popq %rdi
    popq %rsi
    popq %rbp
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    ret                         /* pops the handler address, leaves the CPU error code */
2:  popq %rdi
    popq %rsi
    popq %rbp
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    addq $8, %rsp
    ret                         /* pops the handler address (error_code slot) */

/* uint64_t safe_copy(void *dst (rcx), const void *src (rdx), uint64_t n (r8)) -> bytes copied.
 * A #PF/#GP inside [safe_copy_start, safe_copy_end) resumes at safe_copy_fault (rax = count). */
    .globl safe_copy, safe_copy_start, safe_copy_end, safe_copy_fault
safe_copy:
    xorl %eax, %eax
safe_copy_start:
3:  cmpq %r8, %rax
    jae 4f
    movb (%rdx,%rax), %r9b
    movb %r9b, (%rcx,%rax)
    incq %rax
    jmp 3b
safe_copy_end:
4:  ret
safe_copy_fault:
    ret

/* int safe_rdmsr(uint32_t msr (ecx), uint64_t *out (rdx)) -> 0 ok, 1 #GP */
    .globl safe_rdmsr, safe_rdmsr_start, safe_rdmsr_end, safe_rdmsr_fault
safe_rdmsr:
    movq %rdx, %r8
safe_rdmsr_start:
    rdmsr
safe_rdmsr_end:
    shlq $32, %rdx
    movl %eax, %eax
    orq %rdx, %rax
    movq %rax, (%r8)
    xorl %eax, %eax
    ret
safe_rdmsr_fault:
    movl $1, %eax
    ret

/* void run_on_stack(void (*fn)(void) (rcx), uint64_t stack_top (rdx)): never returns */
    .globl run_on_stack
run_on_stack:
    movq %rdx, %rsp
    andq $-16, %rsp
    subq $32, %rsp
    pushq $0                   /* fake return address: ends the call chain */
    xorl %ebp, %ebp
    jmp *%rcx

    .data
    .balign 8
    .globl isr_stub_table
isr_stub_table:
    .quad isr_0
    .quad isr_1
    .quad isr_2
    .quad isr_3
    .quad isr_4
    .quad isr_5
    .quad isr_6
    .quad isr_7
    .quad isr_8
    .quad isr_9
    .quad isr_10
    .quad isr_11
    .quad isr_12
    .quad isr_13
    .quad isr_14
    .quad isr_15
    .quad isr_16
    .quad isr_17
    .quad isr_18
    .quad isr_19
    .quad isr_20
    .quad isr_21
    .quad isr_22
    .quad isr_23
    .quad isr_24
    .quad isr_25
    .quad isr_26
    .quad isr_27
    .quad isr_28
    .quad isr_29
    .quad isr_30
    .quad isr_31
    .quad isr_32
    .quad isr_33
    .quad isr_34
    .quad isr_35
    .quad isr_36
    .quad isr_37
    .quad isr_38
    .quad isr_39
    .quad isr_40
    .quad isr_41
    .quad isr_42
    .quad isr_43
    .quad isr_44
    .quad isr_45
    .quad isr_46
    .quad isr_47
    .quad isr_48
    .quad isr_49
    .quad isr_50
    .quad isr_51
    .quad isr_52
    .quad isr_53
    .quad isr_54
    .quad isr_55
    .quad isr_56
    .quad isr_57
    .quad isr_58
    .quad isr_59
    .quad isr_60
    .quad isr_61
    .quad isr_62
    .quad isr_63
    .quad isr_64
    .quad isr_65
    .quad isr_66
    .quad isr_67
    .quad isr_68
    .quad isr_69
    .quad isr_70
    .quad isr_71
    .quad isr_72
    .quad isr_73
    .quad isr_74
    .quad isr_75
    .quad isr_76
    .quad isr_77
    .quad isr_78
    .quad isr_79
    .quad isr_80
    .quad isr_81
    .quad isr_82
    .quad isr_83
    .quad isr_84
    .quad isr_85
    .quad isr_86
    .quad isr_87
    .quad isr_88
    .quad isr_89
    .quad isr_90
    .quad isr_91
    .quad isr_92
    .quad isr_93
    .quad isr_94
    .quad isr_95
    .quad isr_96
    .quad isr_97
    .quad isr_98
    .quad isr_99
    .quad isr_100
    .quad isr_101
    .quad isr_102
    .quad isr_103
    .quad isr_104
    .quad isr_105
    .quad isr_106
    .quad isr_107
    .quad isr_108
    .quad isr_109
    .quad isr_110
    .quad isr_111
    .quad isr_112
    .quad isr_113
    .quad isr_114
    .quad isr_115
    .quad isr_116
    .quad isr_117
    .quad isr_118
    .quad isr_119
    .quad isr_120
    .quad isr_121
    .quad isr_122
    .quad isr_123
    .quad isr_124
    .quad isr_125
    .quad isr_126
    .quad isr_127
    .quad isr_128
    .quad isr_129
    .quad isr_130
    .quad isr_131
    .quad isr_132
    .quad isr_133
    .quad isr_134
    .quad isr_135
    .quad isr_136
    .quad isr_137
    .quad isr_138
    .quad isr_139
    .quad isr_140
    .quad isr_141
    .quad isr_142
    .quad isr_143
    .quad isr_144
    .quad isr_145
    .quad isr_146
    .quad isr_147
    .quad isr_148
    .quad isr_149
    .quad isr_150
    .quad isr_151
    .quad isr_152
    .quad isr_153
    .quad isr_154
    .quad isr_155
    .quad isr_156
    .quad isr_157
    .quad isr_158
    .quad isr_159
    .quad isr_160
    .quad isr_161
    .quad isr_162
    .quad isr_163
    .quad isr_164
    .quad isr_165
    .quad isr_166
    .quad isr_167
    .quad isr_168
    .quad isr_169
    .quad isr_170
    .quad isr_171
    .quad isr_172
    .quad isr_173
    .quad isr_174
    .quad isr_175
    .quad isr_176
    .quad isr_177
    .quad isr_178
    .quad isr_179
    .quad isr_180
    .quad isr_181
    .quad isr_182
    .quad isr_183
    .quad isr_184
    .quad isr_185
    .quad isr_186
    .quad isr_187
    .quad isr_188
    .quad isr_189
    .quad isr_190
    .quad isr_191
    .quad isr_192
    .quad isr_193
    .quad isr_194
    .quad isr_195
    .quad isr_196
    .quad isr_197
    .quad isr_198
    .quad isr_199
    .quad isr_200
    .quad isr_201
    .quad isr_202
    .quad isr_203
    .quad isr_204
    .quad isr_205
    .quad isr_206
    .quad isr_207
    .quad isr_208
    .quad isr_209
    .quad isr_210
    .quad isr_211
    .quad isr_212
    .quad isr_213
    .quad isr_214
    .quad isr_215
    .quad isr_216
    .quad isr_217
    .quad isr_218
    .quad isr_219
    .quad isr_220
    .quad isr_221
    .quad isr_222
    .quad isr_223
    .quad isr_224
    .quad isr_225
    .quad isr_226
    .quad isr_227
    .quad isr_228
    .quad isr_229
    .quad isr_230
    .quad isr_231
    .quad isr_232
    .quad isr_233
    .quad isr_234
    .quad isr_235
    .quad isr_236
    .quad isr_237
    .quad isr_238
    .quad isr_239
    .quad isr_240
    .quad isr_241
    .quad isr_242
    .quad isr_243
    .quad isr_244
    .quad isr_245
    .quad isr_246
    .quad isr_247
    .quad isr_248
    .quad isr_249
    .quad isr_250
    .quad isr_251
    .quad isr_252
    .quad isr_253
    .quad isr_254
    .quad isr_255
